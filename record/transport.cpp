#include "record/transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

#include "record/coro.hpp"
#include "schema/mastodon/token_redaction.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

net::awaitable<boost::system::error_code> connect(const Transport& t,
                                                  boost::beast::tcp_stream& stream,
                                                  const schema::Url& target) {
    tcp::resolver resolver(stream.get_executor());
    auto [rec, results] =
        co_await resolver.async_resolve(target.host, std::to_string(target.port), kUseTuple);
    if (rec) {
        co_return rec;
    }
    stream.expires_after(t.handshake_timeout);
    auto [cec, ep] = co_await stream.async_connect(results, kUseTuple);
    if (!cec) {
        boost::system::error_code ignored;
        stream.socket().set_option(tcp::no_delay(true), ignored);  // pongs go out at once
    }
    co_return cec;
}

net::awaitable<boost::system::error_code> tls_handshake(TlsStream& stream,
                                                        const std::string& host) {
    if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
        co_return boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                            net::error::get_ssl_category());
    }
    stream.set_verify_callback(ssl::host_name_verification(host));
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
    co_return ec;
}

}  // namespace

Transport::Transport(const std::string& cacert, std::chrono::milliseconds timeout)
    : tls(ssl::context::tls_client), handshake_timeout(timeout) {
    tls.set_verify_mode(ssl::verify_peer);
    tls.set_default_verify_paths();
    if (!cacert.empty()) {
        boost::system::error_code ec;
        tls.load_verify_file(cacert, ec);
        if (ec) {
            throw std::invalid_argument(cacert + ": cannot load as a CA certificate (" +
                                        ec.message() + ")");
        }
    }
}

net::awaitable<std::optional<OpenFailure>> open_stream(const Transport& t, ClientStream& stream,
                                                       const schema::Url& url) {
    if (auto ec = co_await connect(t, stream.next_layer(), url)) {
        co_return OpenFailure{
            schema::EndCause::network_error,
            "connect to " + url.host + ":" + std::to_string(url.port) + ": " + ec.message()};
    }
    if (auto* tls = stream.tls()) {
        if (auto ec = co_await tls_handshake(*tls, url.host)) {
            co_return OpenFailure{schema::EndCause::tls_error,
                                  "TLS handshake with " + url.host + ": " + ec.message()};
        }
    }
    co_return std::nullopt;
}

std::string headers_json(const boost::beast::http::fields& fields, const std::string& token) {
    std::string out = "{";
    bool first = true;
    for (const auto& f : fields) {
        if (!first) {
            out += ',';
        }
        first = false;
        schema::append_json_string(out, std::string(f.name_string()));
        out += ':';
        schema::append_json_string(out, schema::redact(std::string(f.value()), token));
    }
    out += '}';
    return out;
}

}  // namespace mastotape::record
