#include "record/client_stream.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace mastotape::record {

namespace net = boost::asio;
namespace beast = boost::beast;

ClientStream::ClientStream(net::any_io_executor ex, net::ssl::context* tls) : tcp_(std::move(ex)) {
    if (tls != nullptr) {
        tls_.emplace(tcp_, *tls);
    }
}

void ClientStream::teardown(beast::role_type role,
                            net::any_completion_handler<void(beast::error_code)> handler) {
    if (on_teardown) {
        on_teardown();
    }
    // On the stream's executor, which is the WebSocket's: Asio 1.81's type-erased executor
    // cannot be posted to.
    auto done = net::bind_executor(
        get_executor(),
        [h = std::move(handler)](beast::error_code) mutable { std::move(h)(beast::error_code{}); });
    using beast::websocket::async_teardown;
    if (tls_) {
        async_teardown(role, *tls_, std::move(done));
    } else {
        async_teardown(role, tcp_, std::move(done));
    }
}

}  // namespace mastotape::record
