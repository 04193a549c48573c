#pragma once

// What the recorder's connections share at the socket level: the TLS context (peer and host name
// always verified), connecting with a deadline, the TLS handshake with SNI, the Host header, and
// how response headers are kept. Private to record/'s .cpp files: this header brings in Beast.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <string>

#include "schema/url.hpp"

namespace mastotape::record {

inline constexpr const char* kUserAgent = "mastotape/0.1 (+https://github.com/mastotape)";

using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;

struct Transport {
    // Trusts the system's CAs and, when `cacert` is not empty, that PEM file too; throws
    // std::invalid_argument naming the file when it cannot be loaded.
    Transport(const std::string& cacert, std::chrono::milliseconds handshake_timeout);

    boost::asio::ssl::context tls;
    std::chrono::milliseconds handshake_timeout;  // connect, TLS, HTTP and WebSocket handshakes
};

// Resolves and connects `stream` to `target` within the handshake deadline (left set on the
// stream); returns the error.
boost::asio::awaitable<boost::system::error_code> connect(const Transport& t,
                                                          boost::beast::tcp_stream& stream,
                                                          schema::Url target);

// The TLS handshake with SNI and host name verification against the trusted CAs.
boost::asio::awaitable<boost::system::error_code> tls_handshake(TlsStream& stream,
                                                                std::string host);

// host[:port], the port only when not 80 or 443.
std::string host_header(const schema::Url& u);

// Response headers as a JSON object, in order, each value with the token redacted.
std::string headers_json(const boost::beast::http::fields& fields, const std::string& token);

}  // namespace mastotape::record
