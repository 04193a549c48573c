#include "record/connection_end.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace mastotape::record {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

bool is_ssl_error(const boost::system::error_code& ec) {
    return ec.category() == net::error::get_ssl_category() || ec == ssl::error::stream_truncated;
}

void classify_end(const boost::system::error_code& ec, Outcome& out) {
    if (ec == net::error::eof || ec == http::error::end_of_stream ||
        ec == ssl::error::stream_truncated || ec == http::error::partial_message) {
        out.cause = schema::EndCause::eof;
        out.close_code = 1006;
        out.detail = "end of stream without a close frame";
    } else if (ec == net::error::connection_reset || ec == net::error::broken_pipe) {
        out.cause = schema::EndCause::reset;
        out.close_code = 1006;
        out.detail = ec.message();
    } else if (ec == websocket::error::message_too_big || ec == http::error::body_limit) {
        out.cause = schema::EndCause::frame_too_large;
        out.close_code = 1009;
        out.detail = "a frame exceeded --max-frame";
    } else if (is_ssl_error(ec)) {
        out.cause = schema::EndCause::tls_error;
        out.detail = ec.message();
    } else if (ec.category() == websocket::make_error_code(websocket::error::closed).category() ||
               ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
        out.cause = schema::EndCause::protocol_error;
        out.detail = ec.message();
    } else {
        out.cause = schema::EndCause::network_error;
        out.detail = ec.message();
    }
}

void end_by_silence(std::chrono::steady_clock::duration timeout, const char* what, Outcome& out) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
    out.cause = schema::EndCause::heartbeat_timeout;
    out.detail = std::string("no ") + what + " for " + std::to_string(seconds) + " s";
}

Outcome stopped_before(const char* what) {
    Outcome out;
    out.cause = schema::EndCause::local_stop;
    out.detail = std::string("stopped before ") + what;
    return out;
}

}  // namespace mastotape::record
