#pragma once

// What the recorder's connections share at the socket level: the TLS context (peer and host name
// always verified), connecting with a deadline, the TLS handshake with SNI, the Host header, and
// how response headers are kept. Private to record/'s .cpp files: this header brings in Beast.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "record/client_stream.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::record {

inline constexpr const char* kUserAgent = "mastotape/0.1 (+https://github.com/mastotape)";

struct Transport {
    // Trusts the system's CAs and, when `cacert` is not empty, that PEM file too; throws
    // std::invalid_argument naming the file when it cannot be loaded.
    Transport(const std::string& cacert, std::chrono::milliseconds handshake_timeout);

    // What a ClientStream to `url` speaks TLS with: nullptr unless https:// or wss://.
    boost::asio::ssl::context* tls_for(const schema::Url& url) {
        return url.tls() ? &tls : nullptr;
    }

    boost::asio::ssl::context tls;
    std::chrono::milliseconds handshake_timeout;  // connect, TLS, HTTP and WebSocket handshakes
};

// Why a stream could not be opened: network-error (resolve, connect) or tls-error, and one line.
struct OpenFailure {
    schema::EndCause cause = schema::EndCause::network_error;
    std::string detail;
};

// Resolves and connects `stream` to `url` within the handshake deadline (left set on the TCP
// layer), then, on a TLS stream, the TLS handshake with SNI and host name verification against
// the trusted CAs; nullopt when it is open.
boost::asio::awaitable<std::optional<OpenFailure>> open_stream(const Transport& t,
                                                               ClientStream& stream,
                                                               const schema::Url& url);

// Response headers as a JSON object, in order, each value with the token redacted.
std::string headers_json(const boost::beast::http::fields& fields, const std::string& token);

}  // namespace mastotape::record
