#pragma once

// What the recorder's connections share at the socket level: the TLS context (peer and host name
// always verified), connecting with a deadline, the TLS handshake with SNI, the Host header, and
// how response headers are kept. Private to record/'s .cpp files: this header brings in Beast.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/fields.hpp>

#include <boost/beast/core/stream_traits.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>

#include "schema/model.hpp"
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

// Why a stream could not be opened: network-error (resolve, connect) or tls-error, and one line.
struct OpenFailure {
    schema::EndCause cause = schema::EndCause::network_error;
    std::string detail;
};

// Connects `stream` (a tcp_stream, or a TlsStream over one) to `url` and speaks TLS when it is a
// TlsStream; nullopt when it is open. The handshake deadline stays set on the TCP layer.
template <typename Stream>
boost::asio::awaitable<std::optional<OpenFailure>> open_stream(const Transport& t, Stream& stream,
                                                               const schema::Url& url) {
    auto& tcp_layer = boost::beast::get_lowest_layer(stream);
    if (auto ec = co_await connect(t, tcp_layer, url)) {
        co_return OpenFailure{
            schema::EndCause::network_error,
            "connect to " + url.host + ":" + std::to_string(url.port) + ": " + ec.message()};
    }
    if constexpr (std::is_same_v<Stream, TlsStream>) {
        if (auto ec = co_await tls_handshake(stream, url.host)) {
            co_return OpenFailure{schema::EndCause::tls_error,
                                  "TLS handshake with " + url.host + ": " + ec.message()};
        }
    }
    co_return std::nullopt;
}

// host[:port], the port only when not 80 or 443.
std::string host_header(const schema::Url& u);

// Response headers as a JSON object, in order, each value with the token redacted.
std::string headers_json(const boost::beast::http::fields& fields, const std::string& token);

}  // namespace mastotape::record
