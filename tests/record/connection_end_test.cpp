// How the recorder names the end of an established connection from the error that ended it. The
// loopback tests produce eof, reset, close, TLS and framing ends for real; a route that fails
// (a timeout, an unreachable host or network) cannot be made on loopback without privileges, so
// its mapping is checked here with the error codes the socket would report.

#include "record/connection_end.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <catch2/catch.hpp>

using namespace mastotape;
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

namespace {

record::Outcome classify(const boost::system::error_code& ec) {
    record::Outcome out;
    out.established = true;
    record::classify_end(ec, out);
    CHECK(out.established);  // the classification names the end; it does not undo the connection
    return out;
}

}  // namespace

TEST_CASE(
    "A failed route ends an established connection as network-error with the system's message") {
    for (const boost::system::error_code ec :
         {make_error_code(net::error::timed_out), make_error_code(net::error::host_unreachable),
          make_error_code(net::error::network_unreachable),
          make_error_code(net::error::network_down), make_error_code(net::error::network_reset),
          make_error_code(net::error::no_buffer_space)}) {
        INFO(ec.message());
        const auto out = classify(ec);
        CHECK(out.cause == schema::EndCause::network_error);
        CHECK_FALSE(out.close_code.has_value());  // no WebSocket code: the transport failed
        CHECK(out.detail == ec.message());
        CHECK_FALSE(out.detail.empty());
    }
    CHECK(classify(make_error_code(net::error::timed_out)).detail == "Connection timed out");
}

TEST_CASE("End of stream, resets, oversized frames, TLS and framing errors keep their own causes") {
    for (const boost::system::error_code ec :
         {make_error_code(net::error::eof), make_error_code(http::error::end_of_stream),
          make_error_code(http::error::partial_message),
          // A TLS peer that drops TCP without close_notify is an end of stream, not a TLS error.
          make_error_code(net::ssl::error::stream_truncated)}) {
        INFO(ec.message());
        const auto out = classify(ec);
        CHECK(out.cause == schema::EndCause::eof);
        CHECK(out.close_code == 1006);
    }
    for (const boost::system::error_code ec : {make_error_code(net::error::connection_reset),
                                               make_error_code(net::error::broken_pipe)}) {
        const auto out = classify(ec);
        CHECK(out.cause == schema::EndCause::reset);
        CHECK(out.close_code == 1006);
        CHECK(out.detail == ec.message());
    }
    for (const boost::system::error_code ec : {make_error_code(websocket::error::message_too_big),
                                               make_error_code(http::error::body_limit)}) {
        const auto out = classify(ec);
        CHECK(out.cause == schema::EndCause::frame_too_large);
        CHECK(out.close_code == 1009);
    }
    const boost::system::error_code tls(
        static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_SSLV3_ALERT_BAD_RECORD_MAC)),
        net::error::get_ssl_category());
    const auto tls_end = classify(tls);
    CHECK(tls_end.cause == schema::EndCause::tls_error);
    CHECK_FALSE(tls_end.close_code.has_value());
    CHECK(tls_end.detail == tls.message());
    CHECK_FALSE(tls_end.detail.empty());
    for (const boost::system::error_code ec : {make_error_code(websocket::error::bad_opcode),
                                               make_error_code(websocket::error::bad_close_payload),
                                               make_error_code(http::error::bad_chunk)}) {
        INFO(ec.message());
        const auto out = classify(ec);
        CHECK(out.cause == schema::EndCause::protocol_error);
        CHECK(out.detail == ec.message());
    }
}
