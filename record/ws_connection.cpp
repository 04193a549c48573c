// The recorder's WebSocket connection (mastodon-streaming.md sections 1.1, 4, 7.1): the
// handshake with the token where the user put it, subscribe frames for several streams, every
// frame and ping stored as it arrives, Beast's pongs and close frames noted as sent, a close with
// 1000 on stop, and a server's protocol violation recorded as the end, at once, with the code
// Beast answered it with.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <optional>

#include "record/coro.hpp"
#include "record/stream_connection.hpp"
#include "record/transport.hpp"
#include "record/watchdog.hpp"
#include "schema/mastodon/streams.hpp"
#include "schema/mastodon/token_redaction.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using schema::FrameKind;

// A server that never answers our close, or never closes TCP after a closing handshake, must not
// hold the recorder: Beast's own close timeout and the teardown's deadline, and a last resort.
constexpr auto kCloseTimeout = std::chrono::seconds(5);
constexpr auto kCloseLastResort = std::chrono::seconds(6);

// A close frame's payload with a code and no reason, as Beast sends its own.
std::string close_payload(std::uint16_t code) {
    return {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

// The code Beast closed with when a read failed on `ec`, having found the server in violation of
// the protocol (websocket/impl/read.hpp: 1009 for a message over the limit, 1007 for a text
// message that is not UTF-8, 1002 for the rest); 0 when `ec` is no violation.
std::uint16_t violation_close_code(const beast::error_code& ec) {
    if (ec.category() != websocket::make_error_code(websocket::error::closed).category() ||
        ec == websocket::error::closed) {
        return 0;
    }
    if (ec == websocket::error::message_too_big) {
        return 1009;
    }
    if (ec == websocket::error::bad_frame_payload) {
        return 1007;
    }
    return 1002;
}

class WsConnection final : public StreamConnection {
   public:
    WsConnection(net::any_io_executor ex, Transport& t, const ConnectionSettings& settings,
                 ConnectionEvents& events)
        : transport_(t),
          settings_(settings),
          events_(events),
          ws_(ex, t.tls_for(settings.url)),
          close_wait_(ex),
          teardown_deadline_(ex) {
        ws_.next_layer().on_teardown = [this] { teardown_started(); };
    }

    ~WsConnection() override { *alive_ = false; }

    net::awaitable<Outcome> run(schema::Connection& row) override;

    void stop() override {
        if (phase_ == Phase::tearing_down) {
            // How the connection ended is settled (a closing handshake, or a violation): the
            // wait for the server to close TCP ends here.
            close_socket();
            return;
        }
        if (phase_ == Phase::ended || closer_ != Closer::nobody) {
            return;
        }
        closer_ = Closer::us;
        if (phase_ == Phase::handshaking) {
            close_socket();  // nothing to say goodbye to yet: the handshake ends here
            return;
        }
        events_.on_sent(schema::MessageKind::close, close_payload(1000));
        if (reading_) {
            start_close();
        }
    }

   private:
    net::awaitable<bool> handshake(schema::Connection& row, Outcome& out);
    net::awaitable<bool> subscribe(Outcome& out);
    net::awaitable<Outcome> close_locally();
    void ended_by(const beast::error_code& ec, Outcome& out);

    // Beast 1.81 deadlocks when its close operation waits for the read lock while a read holds
    // it and finds the server's close frame already buffered (each waits for the other's lock,
    // with no I/O left to wake either). So a close starts beside a read only while that read
    // waits on the socket; otherwise the loop closes before reading again, and once a close is
    // under way the loop waits for it instead of reading.
    void start_close() {
        close_op_ = CloseOp::started;
        ws_.set_option(
            websocket::stream_base::timeout{kCloseTimeout, websocket::stream_base::none(), false});
        ws_.async_close(websocket::close_code::normal, [this, alive = alive_](beast::error_code) {
            if (*alive) {
                close_op_ = CloseOp::done;
                close_wait_.cancel();
            }
        });
    }

    // Beast has begun ending the transport. After a violation it has sent its close, and nothing
    // the server does can change how the connection ended: the socket closes now. After a
    // closing handshake the server should close TCP (RFC 6455 section 7.1.1), and has a while to.
    void teardown_started() {
        if (phase_ != Phase::ended) {
            phase_ = Phase::tearing_down;
        }
        if (closer_ == Closer::nobody) {
            close_socket();
            return;
        }
        teardown_deadline_.expires_after(kCloseTimeout);
        teardown_deadline_.async_wait([this, alive = alive_](beast::error_code ec) {
            if (!ec && *alive) {
                close_socket();
            }
        });
    }

    void close_socket() {
        beast::error_code ignored;
        ws_.next_layer().next_layer().socket().close(ignored);
    }

    Transport& transport_;
    const ConnectionSettings& settings_;
    ConnectionEvents& events_;
    websocket::stream<ClientStream> ws_;
    net::steady_timer close_wait_;
    net::steady_timer teardown_deadline_;
    std::optional<Watchdog> watchdog_;
    // The close's completion may come after the object has gone: it looks here first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    // Where the connection is in its life: upgrading, open, Beast ending the transport, or run()
    // has returned.
    enum class Phase { handshaking, open, tearing_down, ended };
    // Who began the closing handshake: a stop (ours), or the server's close frame.
    enum class Closer { nobody, us, server };
    // Our ws_.async_close: not begun, under way, finished.
    enum class CloseOp { none, started, done };
    Phase phase_ = Phase::handshaking;
    Closer closer_ = Closer::nobody;
    CloseOp close_op_ = CloseOp::none;
    bool reading_ = false;  // the loop waits in ws_.async_read
};

net::awaitable<Outcome> WsConnection::run(schema::Connection& row) {
    Outcome out;
    const bool ok = co_await handshake(row, out);
    if (!ok) {
        phase_ = Phase::ended;
        if (closer_ == Closer::us) {
            out = stopped_before("the handshake finished");
        }
        co_return out;
    }
    const bool subscribed = co_await subscribe(out);
    if (!subscribed) {
        phase_ = Phase::ended;
        co_return out;
    }
    beast::flat_buffer buffer;
    for (;;) {
        if (closer_ == Closer::us) {
            co_return co_await close_locally();
        }
        if (!events_.writer_has_room()) {
            co_await events_.writer_room();
            continue;  // a stop may have come meanwhile
        }
        reading_ = true;
        auto [ec, n] = co_await ws_.async_read(buffer, kUseTuple);
        reading_ = false;
        if (ec) {
            ended_by(ec, out);
            phase_ = Phase::ended;
            co_return out;
        }
        watchdog_->feed();
        const bool text = ws_.got_text();
        std::string bytes = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
        events_.on_frame(text ? FrameKind::text : FrameKind::binary, std::move(bytes));
    }
}

// Connects, speaks TLS when asked, and upgrades; false with `out` saying why when it fails.
net::awaitable<bool> WsConnection::handshake(schema::Connection& row, Outcome& out) {
    const schema::Url& url = settings_.url;
    auto& tcp_layer = ws_.next_layer().next_layer();
    if (const auto failed = co_await open_stream(transport_, ws_.next_layer(), url)) {
        out.cause = failed->cause;
        out.detail = failed->detail;
        co_return false;
    }
    tcp_layer.expires_never();
    ws_.set_option(websocket::stream_base::timeout{transport_.handshake_timeout,
                                                   websocket::stream_base::none(), false});
    const std::string token = settings_.token;
    const TokenIn token_in = settings_.token_in;
    ws_.set_option(
        websocket::stream_base::decorator([token, token_in](websocket::request_type& req) {
            req.set(http::field::user_agent, kUserAgent);
            if (!token.empty() && token_in == TokenIn::header) {
                req.set(http::field::authorization, "Bearer " + token);
            } else if (!token.empty() && token_in == TokenIn::subprotocol) {
                req.set(http::field::sec_websocket_protocol, token);
            }
        }));
    ws_.read_message_max(settings_.max_frame);
    ws_.auto_fragment(false);
    websocket::response_type res;
    auto [ec] = co_await ws_.async_handshake(
        res, url.authority(), settings_.target(schema::Transport::websocket, true), kUseTuple);
    // A status only when a response head came: an error of the HTTP parser (garbage, a header
    // over the limit, silence) leaves `res` as Beast made it, not as a server sent it.
    const bool answered =
        !ec || ec.category() == make_error_code(websocket::error::upgrade_declined).category();
    if (answered && res.result_int() != 0) {
        out.http_status = res.result_int();
        row.response_headers_json = headers_json(res, settings_.token);
        out.error_message = schema::redact(std::string(res["X-Error-Message"]), settings_.token);
    }
    if (ec) {
        out.cause =
            is_ssl_error(ec) ? schema::EndCause::tls_error : schema::EndCause::handshake_failed;
        out.detail =
            ec == websocket::error::upgrade_declined && out.http_status
                ? "HTTP " + std::to_string(*out.http_status) + " " + std::string(res.reason())
                : ec.message();
        co_return false;
    }
    // The handshake is done: from here on the stream has no deadline but the watchdog.
    ws_.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                   websocket::stream_base::none(), false});
    out.established = true;
    phase_ = Phase::open;
    row.http_status = 101;
    row.subprotocol =
        schema::redact(std::string(res[http::field::sec_websocket_protocol]), settings_.token);
    watchdog_.emplace(ws_.get_executor(), settings_.heartbeat_timeout, [&tcp_layer] {
        beast::error_code ignored;
        tcp_layer.socket().close(ignored);
    });
    events_.on_up(row);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
        if (kind == websocket::frame_type::ping) {
            watchdog_->feed();
            events_.on_frame(FrameKind::ping, std::string(payload));
            // Beast answers every ping with a pong carrying the same payload.
            events_.on_sent(schema::MessageKind::pong, std::string(payload));
        } else if (kind == websocket::frame_type::pong) {
            watchdog_->feed();
            events_.on_frame(FrameKind::pong, std::string(payload));
        } else {
            if (closer_ == Closer::nobody) {
                closer_ = Closer::server;
                // Beast answers with a close frame echoing the code (1000 for none), without the
                // reason.
                const auto code = ws_.reason().code;
                events_.on_sent(schema::MessageKind::close,
                                close_payload(code == websocket::close_code::none
                                                  ? std::uint16_t{1000}
                                                  : static_cast<std::uint16_t>(code)));
            }
        }
    });
    co_return true;
}

// Several streams ride one connection as subscribe frames (one goes in the query).
net::awaitable<bool> WsConnection::subscribe(Outcome& out) {
    if (settings_.subscriptions.size() < 2) {
        co_return true;
    }
    for (const auto& s : settings_.subscriptions) {
        const std::string msg = schema::subscribe_message(s);
        events_.on_sent(schema::MessageKind::text, msg);
        ws_.text(true);
        auto [ec, n] = co_await ws_.async_write(net::buffer(msg), kUseTuple);
        if (ec) {
            classify_end(ec, out);
            co_return false;
        }
    }
    co_return true;
}

// Closes with 1000 and waits for the server's answer (or gives up on it).
net::awaitable<Outcome> WsConnection::close_locally() {
    if (close_op_ == CloseOp::none) {
        start_close();
    }
    while (close_op_ != CloseOp::done) {
        close_wait_.expires_after(kCloseLastResort);
        auto [ec] = co_await close_wait_.async_wait(kUseTuple);
        if (!ec) {
            close_socket();  // the close's timeout did not
            break;
        }
    }
    phase_ = Phase::ended;
    Outcome out;
    out.established = true;
    out.cause = schema::EndCause::local_stop;
    out.close_code = 1000;
    co_return out;
}

// How a read error ended the connection: our own stop, the server's close frame (answered by
// Beast), a violation Beast failed the connection on, the watchdog, or the transport.
void WsConnection::ended_by(const beast::error_code& ec, Outcome& out) {
    if (closer_ == Closer::us) {
        out.cause = schema::EndCause::local_stop;
        out.close_code = 1000;
    } else if (ec == websocket::error::closed) {
        const auto reason = ws_.reason();
        if (reason.code == websocket::close_code::none) {
            out.cause = schema::EndCause::close_no_code;
            out.close_code = 1005;
        } else {
            out.cause = schema::EndCause::close;
            out.close_code = static_cast<std::int64_t>(reason.code);
            out.close_reason = std::string(reason.reason.data(), reason.reason.size());
        }
    } else if (const auto sent = violation_close_code(ec)) {
        events_.on_sent(schema::MessageKind::close, close_payload(sent));
        classify_end(ec, out);
        out.close_code = sent;
    } else if (watchdog_->fired()) {
        end_by_silence(settings_.heartbeat_timeout, "frame or ping", out);
    } else {
        classify_end(ec, out);
    }
}

}  // namespace

std::unique_ptr<StreamConnection> make_ws_connection(net::any_io_executor ex, Transport& t,
                                                     const ConnectionSettings& settings,
                                                     ConnectionEvents& events) {
    return std::make_unique<WsConnection>(std::move(ex), t, settings, events);
}

}  // namespace mastotape::record
