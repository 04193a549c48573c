// The recorder's SSE connection (mastodon-streaming.md sections 1.2 and 5.2): one stream per
// request, the response body split into comment and event frames as it arrives, an error
// response's JSON message kept, and the socket closed on stop (SSE has no goodbye).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <vector>

#include "record/coro.hpp"
#include "record/stream_connection.hpp"
#include "record/transport.hpp"
#include "record/watchdog.hpp"
#include "schema/mastodon/sse_splitter.hpp"
#include "schema/mastodon/token_redaction.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using schema::FrameKind;

constexpr std::size_t kErrorBodyLimit = std::size_t{64} * 1024;

class SseConnection final : public StreamConnection {
   public:
    SseConnection(net::any_io_executor ex, Transport& t, const ConnectionSettings& settings,
                  ConnectionEvents& events)
        : transport_(t),
          settings_(settings),
          events_(events),
          stream_(std::move(ex), t.tls_for(settings.url)) {}

    net::awaitable<Outcome> run(schema::Connection& row) override;

    void stop() override {
        if (!ended_ && !closing_) {
            closing_ = true;
            beast::error_code ignored;
            stream_.next_layer().socket().close(ignored);
        }
    }

   private:
    net::awaitable<bool> request(schema::Connection& row, Outcome& out);
    net::awaitable<void> read_error_body(Outcome& out);
    net::awaitable<Outcome> read_body();

    Transport& transport_;
    const ConnectionSettings& settings_;
    ConnectionEvents& events_;
    ClientStream stream_;
    beast::flat_buffer buffer_;
    http::response_parser<http::buffer_body> parser_;
    std::optional<Watchdog> watchdog_;
    bool ended_ = false;
    bool closing_ = false;
};

net::awaitable<Outcome> SseConnection::run(schema::Connection& row) {
    Outcome out;
    const bool ok = co_await request(row, out);
    if (!ok) {
        ended_ = true;
        if (closing_) {
            out = stopped_before("the response came");
        }
        co_return out;
    }
    out = co_await read_body();
    ended_ = true;
    co_return out;
}

// Connects, sends the GET and reads the response head; false with `out` saying why when the
// stream does not start.
net::awaitable<bool> SseConnection::request(schema::Connection& row, Outcome& out) {
    const schema::Url& url = settings_.url;
    auto& tcp_layer = stream_.next_layer();
    if (const auto failed = co_await open_stream(transport_, stream_, url)) {
        out.cause = failed->cause;
        out.detail = failed->detail;
        co_return false;
    }
    http::request<http::empty_body> req{http::verb::get,
                                        settings_.target(schema::Transport::sse, true), 11};
    req.set(http::field::host, url.authority());
    req.set(http::field::user_agent, kUserAgent);
    req.set(http::field::accept, "text/event-stream");
    if (!settings_.token.empty() && settings_.token_in == TokenIn::header) {
        req.set(http::field::authorization, "Bearer " + settings_.token);
    }
    tcp_layer.expires_after(transport_.handshake_timeout);
    auto [wec, wn] = co_await http::async_write(stream_, req, kUseTuple);
    if (wec) {
        out.cause =
            is_ssl_error(wec) ? schema::EndCause::tls_error : schema::EndCause::network_error;
        out.detail = wec.message();
        co_return false;
    }
    parser_.body_limit(boost::none);
    auto [rec, rn] = co_await http::async_read_header(stream_, buffer_, parser_, kUseTuple);
    if (rec) {
        out.cause = rec == beast::error::timeout ? schema::EndCause::handshake_failed
                                                 : schema::EndCause::network_error;
        out.detail = "reading the response: " + rec.message();
        co_return false;
    }
    const auto& head = parser_.get();
    out.http_status = head.result_int();
    row.response_headers_json = headers_json(head.base(), settings_.token);
    if (head.result() != http::status::ok) {
        co_await read_error_body(out);
        out.cause = schema::EndCause::handshake_failed;
        out.detail = "HTTP " + std::to_string(head.result_int()) + " " + std::string(head.reason());
        co_return false;
    }
    tcp_layer.expires_never();
    out.established = true;
    row.http_status = 200;
    watchdog_.emplace(stream_.get_executor(), settings_.heartbeat_timeout, [&tcp_layer] {
        beast::error_code ignored;
        tcp_layer.socket().close(ignored);
    });
    events_.on_up(row);
    co_return true;
}

// Reads the small JSON error body of a refusal for its message.
net::awaitable<void> SseConnection::read_error_body(Outcome& out) {
    std::string body;
    char chunk[4096];
    while (!parser_.is_done() && body.size() < kErrorBodyLimit) {
        parser_.get().body().data = chunk;
        parser_.get().body().size = sizeof chunk;
        auto [ec, n] = co_await http::async_read(stream_, buffer_, parser_, kUseTuple);
        body.append(chunk, sizeof chunk - parser_.get().body().size);
        if (ec && ec != http::error::need_buffer) {
            break;
        }
    }
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_string()) {
        out.error_message = schema::redact(json["error"].get<std::string>(), settings_.token);
    }
}

// Stores the body's frames as they arrive until the response or the connection ends.
net::awaitable<Outcome> SseConnection::read_body() {
    Outcome out;
    out.established = true;
    schema::SseSplitter splitter;
    std::vector<char> chunk(std::size_t{64} * 1024);
    for (;;) {
        if (parser_.is_done()) {
            out.cause = schema::EndCause::close_no_code;
            out.detail = "the server ended the response";
            co_return out;
        }
        co_await events_.writer_room();
        parser_.get().body().data = chunk.data();
        parser_.get().body().size = chunk.size();
        // read_some, not read: an event is recorded when it arrives, not when 64 KB have.
        auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser_, kUseTuple);
        const std::size_t got = chunk.size() - parser_.get().body().size;
        splitter.feed(std::string_view(chunk.data(), got));
        while (auto frame = splitter.next()) {
            watchdog_->feed();  // a whole frame, not any byte, is a sign of life
            events_.on_frame(FrameKind::text, std::move(*frame));
        }
        if (splitter.buffered() > settings_.max_frame) {
            ec = http::error::body_limit;
        }
        if (ec && ec != http::error::need_buffer) {
            if (watchdog_->fired()) {
                end_by_silence(settings_.heartbeat_timeout, "event or heartbeat", out);
            } else if (closing_) {
                out.cause = schema::EndCause::local_stop;
            } else {
                classify_end(ec, out);
            }
            co_return out;
        }
    }
}

}  // namespace

std::unique_ptr<StreamConnection> make_sse_connection(net::any_io_executor ex, Transport& t,
                                                      const ConnectionSettings& settings,
                                                      ConnectionEvents& events) {
    return std::make_unique<SseConnection>(std::move(ex), t, settings, events);
}

}  // namespace mastotape::record
