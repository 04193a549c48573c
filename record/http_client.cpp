#include "record/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "record/coro.hpp"
#include "record/transport.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Points a canceller at one request's connection while the request runs.
class CancelScope {
   public:
    CancelScope(RequestCanceller* c, beast::tcp_stream& s) : c_(c) {
        if (c_ != nullptr) {
            c_->set_close([&s] {
                beast::error_code ignored;
                s.socket().close(ignored);
            });
        }
    }
    ~CancelScope() {
        if (c_ != nullptr) {
            c_->set_close(nullptr);
        }
    }
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;

   private:
    RequestCanceller* c_;
};

}  // namespace

net::awaitable<HttpResult> http_get(Transport& t, schema::Url target, std::string token,
                                    RequestCanceller* cancel) {
    HttpResult out;
    if (cancel != nullptr && cancel->cancelled()) {
        out.error = "stopped";
        co_return out;
    }
    const auto ex = co_await net::this_coro::executor;  // the thread it runs on
    ClientStream stream(ex, t.tls_for(target));
    auto& tcp_layer = stream.next_layer();
    const CancelScope scope(cancel, tcp_layer);
    if (const auto failed = co_await open_stream(t, stream, target)) {
        out.error = failed->detail;
        co_return out;
    }
    http::request<http::empty_body> req{http::verb::get, target.target, 11};
    req.set(http::field::host, target.authority());
    req.set(http::field::user_agent, kUserAgent);
    req.set(http::field::accept, "application/json");
    if (!token.empty()) {
        req.set(http::field::authorization, "Bearer " + token);
    }
    tcp_layer.expires_after(t.handshake_timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
    if (wec) {
        out.error = wec.message();
        co_return out;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{64} * 1024 * 1024);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (rec) {
        out.error = rec.message();
        co_return out;
    }
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    out.link = std::string(res["Link"]);
    out.rate_remaining = std::string(res["X-RateLimit-Remaining"]);
    out.rate_reset = std::string(res["X-RateLimit-Reset"]);
    beast::error_code ignored;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
}

}  // namespace mastotape::record
