#pragma once

// The layer under the recorder's WebSocket stream: the TCP stream, or TLS over it, passed
// through, with the end of the transport left to the connection. Private to record/'s .cpp files.
//
// Beast ends the transport (its teardown) after a closing handshake and after it failed the
// connection on a protocol violation, having sent its close frame (1002, 1007, 1009). Its own
// teardown reads until the server closes TCP, with no deadline, and the read then reports how TCP
// ended over what the WebSocket said: a server that never closed held the recorder until the
// heartbeat watchdog, and one that reset after its close frame was recorded as a reset. Here the
// connection is told when a teardown starts (to end the transport at once, or to give it a
// deadline), and the teardown always completes without error, so the read reports what ended the
// WebSocket: the server's close frame, or the violation Beast found.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <functional>
#include <utility>

namespace mastotape::record {

template <typename Next>
class ClientLayer {
   public:
    using executor_type = typename Next::executor_type;

    template <typename... Args>
    explicit ClientLayer(Args&&... args) : next_(std::forward<Args>(args)...) {}

    Next& next_layer() { return next_; }
    executor_type get_executor() { return next_.get_executor(); }

    template <typename MutableBuffers, typename Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return next_.async_read_some(buffers, std::forward<Token>(token));
    }
    template <typename ConstBuffers, typename Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return next_.async_write_some(buffers, std::forward<Token>(token));
    }

    // Called when Beast starts ending the transport, its close frame (if any) written.
    std::function<void()> on_teardown;

   private:
    Next next_;
};

// Found by Beast through argument-dependent lookup.
template <typename Next, typename Handler>
void async_teardown(boost::beast::role_type role, ClientLayer<Next>& layer, Handler&& handler) {
    if (layer.on_teardown) {
        layer.on_teardown();
    }
    auto ex = boost::asio::get_associated_executor(handler, layer.get_executor());
    using boost::beast::websocket::async_teardown;
    async_teardown(role, layer.next_layer(),
                   boost::asio::bind_executor(
                       ex, [h = std::forward<Handler>(handler)](boost::beast::error_code) mutable {
                           std::move(h)(boost::beast::error_code{});
                       }));
}

}  // namespace mastotape::record
