#include "replay/websocket_outlet.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <array>

#include "replay/coro.hpp"
#include "replay/faults.hpp"
#include "replay/frame_convert.hpp"
#include "replay/outlet.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/heartbeats.hpp"
#include "schema/mastodon/streams.hpp"

namespace mastotape::replay {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using schema::FrameKind;
using WebSocket = websocket::stream<ServerStream&>;

constexpr std::int64_t kSec = 1'000'000'000;
// The payload of an oversize-at frame: over the recorder's default --max-frame of 16 MiB.
// With --kill-unresponsive, how long a ping's pong is waited for when the next ping is due sooner.
constexpr auto kPongGrace = std::chrono::seconds(1);
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);

enum Opcode : unsigned char { kText = 0x1, kBinary = 0x2, kPing = 0x9, kPong = 0xA };

// Writes to one WebSocket. Every frame the replayer sends goes into the ServerStream's write
// buffer whole, in one call: the tape's frames, error frames, pings and pongs straight from here
// (a server's frames are unmasked and no extension is negotiated, so the bytes are the header and
// the payload), and the two frames Beast writes itself, its answers to the client's pings and a
// close, likewise whole (Beast writes an unmasked frame as one buffer sequence, which ServerStream
// takes in one piece). So frames never interleave mid-frame. After a close nothing more is sent.
class WebSocketWriter {
   public:
    // `sent` counts the frames that went out; it must outlive the writer.
    WebSocketWriter(WebSocket& ws, std::uint64_t& sent) : ws_(ws), sent_(sent) {}

    // One unfragmented frame, as the real server sends; false when the connection is gone. The
    // replayer's hot path: Beast's write operation costs more than the rest of it.
    net::awaitable<bool> send(std::string_view payload, Opcode op) {
        ServerStream& stream = ws_.next_layer();
        if (!stream.has_room()) {
            co_await stream.async_wait_room(kUseTuple);
        }
        if (!ws_.is_open()) {
            co_return false;  // the client's close came in, or the connection failed
        }
        std::array<unsigned char, 10> head{};
        head[0] = static_cast<unsigned char>(0x80 | op);  // FIN and the opcode
        std::size_t head_size = 2;
        const std::uint64_t n = payload.size();
        if (n < 126) {
            head[1] = static_cast<unsigned char>(n);
        } else if (n <= 0xffff) {
            head[1] = 126;
            head[2] = static_cast<unsigned char>(n >> 8);
            head[3] = static_cast<unsigned char>(n);
            head_size = 4;
        } else {
            head[1] = 127;
            for (std::size_t i = 0; i < 8; ++i) {
                head[2 + i] = static_cast<unsigned char>(n >> (56 - 8 * i));
            }
            head_size = 10;
        }
        const bool written = stream.write_now(
            std::string_view(reinterpret_cast<const char*>(head.data()), head_size), payload);
        sent_ += written ? 1 : 0;
        co_return written;
    }

    // A control frame's payload is at most 125 bytes.
    net::awaitable<bool> control(std::string_view payload, Opcode op) {
        co_return co_await send(payload.substr(0, 125), op);
    }

    // The closing handshake, through Beast, which then answers the client's close.
    net::awaitable<void> close(websocket::close_reason reason) {
        co_await ws_.async_close(reason, kUseTuple);
    }

   private:
    WebSocket& ws_;
    std::uint64_t& sent_;
};

class WebSocketOutlet final : public Outlet {
   public:
    WebSocketOutlet(Streaming& s, WebSocket& ws, LiveConnection& conn, ClientState& client)
        : s_(s), ws_(ws), writer_(ws, client.frames_sent), conn_(conn), client_(client) {
        // Only a pong counts as the client being alive, as for the real server.
        ws_.control_callback([&conn, &client](websocket::frame_type kind, beast::string_view) {
            if (kind == websocket::frame_type::pong) {
                client.log.pong_received();
                conn.ponged = true;
                conn.wake.cancel();
            }
        });
    }

    // Reads the client's messages until the connection ends: subscriptions and errors go to the
    // connection. Runs beside the player as a coroutine of its own; see LiveConnection.
    net::awaitable<void> read_client();

    bool subscribes_with_frames() const override { return true; }
    net::awaitable<bool> open(std::int64_t start, bool, std::int64_t) override {
        last_ping_ns_ = start;
        co_return true;
    }
    net::awaitable<bool> wait(std::int64_t offset) override;
    net::awaitable<bool> play(const schema::Frame& f) override;
    net::awaitable<bool> play_spoiled(const schema::Frame& f, FaultKind kind) override {
        if (kind == FaultKind::oversize_at) {
            co_return co_await writer_.send(
                schema::ws_envelope(R"(["user"])", "update", std::string(kOversizeBytes, 'x')),
                kText);
        }
        co_return co_await writer_.send(std::string_view(f.bytes).substr(0, f.bytes.size() / 2),
                                        kText);
    }
    net::awaitable<void> close(int code) override {
        co_await writer_.close(websocket::close_reason(static_cast<websocket::close_code>(code)));
    }
    net::awaitable<void> drop() override {
        co_await end_transport(ws_.next_layer(), schema::EndCause::eof);
    }
    net::awaitable<void> end(const PlannedConnection& p, bool tape_end) override;
    std::uint64_t bytes_written() const override { return ws_.next_layer().bytes_written(); }

   private:
    net::awaitable<bool> flush_pending();
    net::awaitable<bool> ping(std::string_view payload);
    net::awaitable<void> go_silent(const PlannedConnection& p);
    bool synthesizing() const { return s_.options.synth_heartbeats && s_.sse_tape; }

    Streaming& s_;
    WebSocket& ws_;
    WebSocketWriter writer_;
    LiveConnection& conn_;
    ClientState& client_;
    std::int64_t last_ping_ns_ = 0;  // tape time of the last ping made from `:thump`s
    // Set when the recorded end is a heartbeat timeout: the reader swallows what the client
    // sends, answering nothing, until then (real time) or until the client goes.
    std::optional<TimePoint> silent_until_;
};

net::awaitable<void> WebSocketOutlet::read_client() {
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws_.async_read(buffer, kUseTuple);
        if (ec) {
            break;
        }
        if (!ws_.got_text()) {
            conn_.close_1003 = true;
            conn_.wake.cancel();
            buffer.consume(buffer.size());
            continue;
        }
        const std::string text = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
        ++conn_.client_texts;
        if (s_.client_message) {
            s_.client_message(client_, text);
        }
        const auto before = conn_.subscriptions;
        const auto m = schema::parse_client_message(text);
        if (m.type == "subscribe") {
            if (auto error = schema::subscribe_error(m.subscription)) {
                conn_.pending.push_back(*error);
            } else if (std::find(conn_.subscriptions.begin(), conn_.subscriptions.end(),
                                 m.subscription) == conn_.subscriptions.end()) {
                conn_.subscriptions.push_back(m.subscription);
            }
        } else if (m.type == "unsubscribe") {
            if (schema::subscribe_error(m.subscription)) {
                conn_.pending.push_back(R"({"error":"Error unsubscribing from channel"})");
            } else {
                std::erase(conn_.subscriptions, m.subscription);
            }
        }
        client_.subscriptions = conn_.subscriptions;
        conn_.subscriptions_changed(before);
    }
    if (silent_until_) {
        // The server went silent: no frames, no pongs, no close reply. What the client sends is
        // read under the WebSocket layer and dropped until it goes or the silence ends.
        auto& tcp = ws_.next_layer().next_layer();
        std::array<char, 4096> sink;
        for (;;) {
            tcp.expires_at(*silent_until_);
            auto [ec, n] = co_await tcp.async_read_some(net::buffer(sink), kUseTuple);
            if (ec) {
                conn_.silence_outlasted = ec == beast::error::timeout;
                break;  // the client went, or the silence is over
            }
        }
        tcp.expires_never();
    }
    conn_.closed = true;
    conn_.wake.cancel();
}

// Sends what is pending; false when the connection is gone.
net::awaitable<bool> WebSocketOutlet::flush_pending() {
    while (!conn_.pending.empty() && !conn_.closed) {
        const std::string msg = std::move(conn_.pending.front());
        conn_.pending.pop_front();
        const bool sent = co_await writer_.send(msg, kText);
        if (!sent) {
            conn_.closed = true;
        }
    }
    if (conn_.close_1003 && !conn_.closed) {
        conn_.closed = true;
        co_await writer_.close(websocket::close_reason(
            websocket::close_code::unknown_data,
            "The mastodon streaming server does not support binary messages"));
    }
    co_return !conn_.closed;
}

// Waits for `offset`, sending anything pending meanwhile; false when the connection is gone.
net::awaitable<bool> WebSocketOutlet::wait(std::int64_t offset) {
    for (;;) {
        const bool due = co_await wait_due(s_.clock, conn_, offset);
        const bool open = co_await flush_pending();
        if (!open) {
            co_return false;
        }
        if (due) {
            co_return true;
        }
    }
}

net::awaitable<bool> WebSocketOutlet::play(const schema::Frame& f) {
    switch (f.columns.kind) {
        case FrameKind::event:
            if (s_.sse_tape) {
                if (conn_.subscribed(s_.sse_label)) {
                    if (auto env = envelope_from_sse_block(f.bytes, s_.sse_label)) {
                        co_return co_await writer_.send(*env, kText);
                    }
                }
            } else if (f.columns.stream && conn_.subscribed(*f.columns.stream)) {
                co_return co_await writer_.send(f.bytes, kText);
            }
            co_return true;
        case FrameKind::comment:
            // An SSE tape's `:thump` every 15 s: a ping every 30 s of them (the real server's
            // period, give or take a second of recorded jitter).
            if (synthesizing() && f.bytes.rfind(":thump", 0) == 0 &&
                f.offset_ns - last_ping_ns_ >= schema::kPingIntervalNs - kSec) {
                last_ping_ns_ = f.offset_ns;
                co_return co_await ping({});
            }
            co_return true;
        case FrameKind::text:
            co_return co_await writer_.send(f.bytes, kText);
        case FrameKind::binary:
            co_return co_await writer_.send(f.bytes, kBinary);
        case FrameKind::ping:
            co_return co_await ping(f.bytes);
        case FrameKind::pong:
            co_return co_await writer_.control(f.bytes, kPong);
        case FrameKind::error:  // the recorder's own subscriptions' errors
            break;
    }
    co_return true;
}

// Pings the client. With --kill-unresponsive, a client that has not answered the previous ping
// is dropped instead, with no close frame, as the real server's ping tick does; at a fast replay
// clock the answer is waited for a moment (the real ticks are 30 s apart).
net::awaitable<bool> WebSocketOutlet::ping(std::string_view payload) {
    if (s_.options.kill_unresponsive) {
        if (conn_.pinged_at && !conn_.ponged) {
            const auto until = *conn_.pinged_at + kPongGrace;
            while (!conn_.ponged && !conn_.closed && SteadyClock::now() < until) {
                conn_.wake.expires_at(until);
                co_await conn_.wake.async_wait(kUseTuple);
            }
            if (conn_.closed) {
                co_return false;
            }
            if (!conn_.ponged) {
                co_await end_transport(ws_.next_layer(), schema::EndCause::eof);
                conn_.cut_short = true;
                co_return false;
            }
        }
        conn_.pinged_at = SteadyClock::now();
        conn_.ponged = false;
    }
    client_.log.ping_sent();
    co_return co_await writer_.control(payload, kPing);
}

// The recorded end was a heartbeat timeout: the server goes silent (no frames, no pongs, no close
// reply) until the client's watchdog gives up or the recorded silence is over.
net::awaitable<void> WebSocketOutlet::go_silent(const PlannedConnection& p) {
    co_await ws_.next_layer().async_drain(kUseTuple);
    silent_until_ = SteadyClock::now() + s_.silence_after(p);
    beast::error_code ignored;
    ws_.next_layer().socket().cancel(ignored);  // the reader's WebSocket read ends
    co_await conn_.wait_closed();
    ws_.next_layer().socket().close(ignored);
}

// Ends a connection the way the recorded one ended.
net::awaitable<void> WebSocketOutlet::end(const PlannedConnection& p, bool tape_end) {
    using schema::EndCause;
    const EndCause cause = p.recorded.end_cause;
    if (tape_end && s_.options.hold) {
        while (!conn_.closed) {
            conn_.wake.expires_at(TimePoint::max());
            co_await conn_.wake.async_wait(kUseTuple);
            co_await flush_pending();
        }
        co_return;
    }
    if (tape_end) {
        co_await writer_.close(websocket::close_code::normal);
    } else if (cause == EndCause::close) {
        co_await writer_.close(websocket::close_reason(
            static_cast<websocket::close_code>(p.recorded.close_code.value_or(1000)),
            p.recorded.close_reason));
    } else if (cause == EndCause::close_no_code) {
        co_await writer_.close(websocket::close_reason{});
    } else if (cause == EndCause::heartbeat_timeout) {
        co_await go_silent(p);
    } else {
        co_await end_transport(ws_.next_layer(), cause);
    }
}

// Accepts the upgrade as the real server answers it (header order, the offered subprotocol
// echoed, no Server header); false when the handshake failed.
net::awaitable<bool> accept(WebSocket& ws, const Request& req, const std::string& subprotocol) {
    ws.auto_fragment(false);  // one frame a message, as the real server sends
    ws.set_option(
        websocket::stream_base::timeout{kHandshakeTimeout, websocket::stream_base::none(), false});
    ws.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
        // Upgrade, Connection, Sec-WebSocket-Accept, in that order (a field set again goes last).
        const std::string accept_key(res[http::field::sec_websocket_accept]);
        res.set(http::field::connection, "Upgrade");
        res.set(http::field::sec_websocket_accept, accept_key);
        // Echo the offered subprotocol exactly (masto.js sends the token this way).
        if (!subprotocol.empty()) {
            res.set(http::field::sec_websocket_protocol, subprotocol);
        }
        res.set("X-Request-Id", random_uuid());
    }));
    ws.next_layer().strip_from_next_write("Server: " BOOST_BEAST_VERSION_STRING "\r\n");
    auto [ec] = co_await ws.async_accept(req, kUseTuple);
    if (ec) {
        report_failure(ec, "websocket accept");
    }
    co_return !ec;
}

// The stream of `?stream=` (with its tag or list), refused or accepted as the server does.
void subscribe_from_query(LiveConnection& conn, const std::string& query) {
    const auto stream = schema::query_param(query, "stream");
    if (!stream) {
        return;
    }
    schema::Subscription sub{*stream, ""};
    if (const auto* info = schema::find_stream(sub.stream)) {
        const std::string key(schema::param_key(info->param));
        sub.param = key.empty() ? "" : schema::query_param(query, key).value_or("");
    }
    if (auto error = schema::subscribe_error(sub)) {
        conn.pending.push_back(*error);
    } else {
        conn.subscriptions.push_back(sub);
    }
}

}  // namespace

net::awaitable<void> refuse_upgrade(ServerStream& stream, int status,
                                    const std::string& error_message) {
    if (status == 0) {
        co_await end_transport(stream, schema::EndCause::reset);
        co_return;
    }
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(status))) +
                       "\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: "
                       "0\r\nX-Request-Id: " +
                       random_uuid() + "\r\n";
    if (!error_message.empty()) {
        head += "X-Error-Message: " + error_message + "\r\n";
    }
    head += "\r\n";
    co_await net::async_write(stream, net::buffer(head), kUseTuple);
    co_await end_transport(stream, schema::EndCause::eof);
}

net::awaitable<void> serve_websocket(Streaming& s, ServerStream& stream, Request req,
                                     std::string query) {
    const std::string subprotocol(req[http::field::sec_websocket_protocol]);
    const std::string token =
        schema::request_token(req[http::field::authorization], query, subprotocol);
    if (auto problem = s.token_problem(token)) {
        co_await refuse_upgrade(stream, 401, *problem);
        co_return;
    }
    ClientState& client = s.admission.client(token);
    const Admitted a = s.admission.admit(client);
    if (!a.ok) {
        co_await refuse_upgrade(stream, a.status, a.error_message);
        co_return;
    }
    WebSocket ws(stream);
    const bool accepted = co_await accept(ws, req, subprotocol);
    if (!accepted) {
        co_return;
    }
    LiveConnection conn(stream.get_executor());
    subscribe_from_query(conn, query);
    WebSocketOutlet out(s, ws, conn, client);
    // (Made before the co_await: g++ 12 destroys temporaries of a nested call inside one twice.)
    auto reader = out.read_client();
    const std::function<void()> stop_reader = socket_closer(stream);
    co_await s.play(out, conn, client, a, std::move(reader), stop_reader);
}

}  // namespace mastotape::replay
