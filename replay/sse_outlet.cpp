#include "replay/sse_outlet.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

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
using schema::FrameKind;

using schema::kPingIntervalNs;
using schema::kThumpIntervalNs;
// The data of an oversize-at event: over the recorder's default --max-frame of 16 MiB.

class SseOutlet final : public Outlet {
   public:
    SseOutlet(Streaming& s, ServerStream& stream, LiveConnection& conn, ClientState& client)
        : s_(s),
          stream_(stream),
          conn_(conn),
          client_(client),
          thump_(s.options.legacy_thump ? ":thump\n" : ":thump\n\n") {}

    // Notices the client going away (an SSE client sends nothing after its request). Runs beside
    // the player as a coroutine of its own; see LiveConnection.
    net::awaitable<void> watch_client();

    bool subscribes_with_frames() const override { return false; }
    net::awaitable<bool> open(std::int64_t start, bool resumed, std::int64_t alive_at) override;
    net::awaitable<bool> wait(std::int64_t offset) override;
    net::awaitable<bool> play(const schema::Frame& f) override;
    net::awaitable<bool> play_spoiled(const schema::Frame& f, FaultKind kind) override;
    net::awaitable<bool> synth_heartbeat() override;
    // res.end(): the chunked body ends cleanly (SSE has no close code).
    net::awaitable<void> close(int) override {
        co_await net::async_write(stream_, http::make_chunk_last(), kUseTuple);
        co_await stream_.async_drain(kUseTuple);
        beast::error_code ignored;
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    }
    net::awaitable<void> drop() override { co_await end_transport(stream_, schema::EndCause::eof); }
    net::awaitable<void> end(const PlannedConnection& p, bool tape_end) override;
    std::uint64_t bytes_written() const override { return stream_.bytes_written(); }

   private:
    bool synthesizing() const { return s_.options.synth_heartbeats && !s_.sse_tape; }
    net::awaitable<bool> play_websocket_tape(const schema::Frame& f);
    // Writes one comment (or anything else) as one chunk.
    net::awaitable<bool> write(std::string_view data) {
        const auto chunk = http::make_chunk(net::buffer(data.data(), data.size()));
        const auto result = co_await net::async_write(stream_, chunk, kUseTuple);
        co_return sent(result);
    }
    // Writes an event as the real server does: `event: X\n`, then `data: Y\n\n`, two chunks.
    net::awaitable<bool> write_event(std::string_view block) {
        const auto line = block.find('\n');
        if (block.rfind("event:", 0) != 0 || line == std::string_view::npos ||
            line + 1 == block.size()) {
            co_return co_await write(block);
        }
        // (The chunks are made outside the co_await: g++ 12 destroys temporaries of a nested call
        // inside one twice.)
        const auto chunks = beast::buffers_cat(
            http::make_chunk(net::buffer(block.data(), line + 1)),
            http::make_chunk(net::buffer(block.data() + line + 1, block.size() - line - 1)));
        const auto result = co_await net::async_write(stream_, chunks, kUseTuple);
        co_return sent(result);
    }
    // A block went out (counted once, however many chunks), or the client is gone.
    bool sent(const std::tuple<beast::error_code, std::size_t>& result) {
        if (std::get<0>(result)) {
            conn_.closed = true;
            return false;
        }
        ++client_.frames_sent;
        return true;
    }

    Streaming& s_;
    ServerStream& stream_;
    LiveConnection& conn_;
    ClientState& client_;
    std::string thump_;
    bool greeted_ = false;  // `:)` went out
    std::int64_t start_ = 0;
    // A WebSocket tape's server is alive until 30 s after its last ping (it pings every 30 s):
    // made-up :thumps stop there, so a recorded silence stays silent.
    std::int64_t alive_until_ = 0;
};

net::awaitable<void> SseOutlet::watch_client() {
    char byte = 0;
    for (;;) {
        auto [ec, n] = co_await stream_.async_read_some(net::buffer(&byte, 1), kUseTuple);
        if (ec) {
            break;
        }
    }
    conn_.closed = true;
    conn_.wake.cancel();
}

// The real server writes `:)` right after the headers; an SSE tape has it recorded, and it is
// played from there unless the connection resumes past it. Its :thump every 15 s is per
// response, as Mastodon's interval is, while the recorded server was alive.
net::awaitable<bool> SseOutlet::open(std::int64_t start, bool resumed, std::int64_t alive_at) {
    start_ = start;
    // Alive for a ping interval after its last sign of life, on the tape's clock: a connection
    // resumed inside a recorded silence gets no :thump, however often the client comes back.
    alive_until_ = alive_at + kPingIntervalNs;
    if (synthesizing()) {
        next_synth_ns_ = start + kThumpIntervalNs;  // each response's own 15 s interval
    }
    if (s_.sse_tape && !resumed) {
        co_return true;
    }
    greeted_ = true;
    co_return co_await write(":)\n");
}

// Waits for `offset`; false when the client went away.
net::awaitable<bool> SseOutlet::wait(std::int64_t offset) {
    for (;;) {
        const bool due = co_await wait_due(s_.clock, conn_, offset);
        if (conn_.closed) {
            co_return false;
        }
        if (due) {
            co_return true;
        }
        conn_.pending.clear();  // nothing to send back on SSE
    }
}

// Mastodon's :thump every 15 s from the response's start, while the recorded server was alive.
net::awaitable<bool> SseOutlet::synth_heartbeat() {
    const std::int64_t due = next_synth_ns_;
    if (due > alive_until_) {
        next_synth_ns_ = kNever;  // silent until the tape's next ping
        co_return true;
    }
    next_synth_ns_ = due + kThumpIntervalNs;
    co_return co_await write(thump_);
}

// A WebSocket tape over SSE: its events as SSE blocks; its pings only say the server is alive.
net::awaitable<bool> SseOutlet::play_websocket_tape(const schema::Frame& f) {
    if (f.columns.kind == FrameKind::event && f.columns.stream &&
        conn_.subscribed(*f.columns.stream)) {
        if (auto block = sse_block_from_envelope(f.bytes)) {
            co_return co_await write_event(*block);
        }
    } else if (f.columns.kind == FrameKind::ping && synthesizing()) {
        alive_until_ = f.offset_ns + kPingIntervalNs;
        if (next_synth_ns_ == kNever) {  // after a silence: the cadence goes on from the start
            next_synth_ns_ =
                start_ + ((f.offset_ns - start_) / kThumpIntervalNs + 1) * kThumpIntervalNs;
        }
    }
    co_return true;
}

net::awaitable<bool> SseOutlet::play(const schema::Frame& f) {
    if (!s_.sse_tape) {
        co_return co_await play_websocket_tape(f);
    }
    switch (f.columns.kind) {
        case FrameKind::comment:
            if (schema::is_sse_greeting(f.bytes)) {
                if (greeted_) {
                    co_return true;
                }
                greeted_ = true;
                co_return co_await write(f.bytes);
            }
            co_return co_await write(f.bytes.rfind(":thump", 0) == 0 ? thump_ : f.bytes);
        case FrameKind::event:
            if (conn_.subscribed(s_.sse_label)) {
                co_return co_await write_event(f.bytes);
            }
            co_return true;
        case FrameKind::text:
            co_return co_await write(f.bytes);
        default:
            co_return true;
    }
}

// The event's block cut in the middle of its data, or one 17 MiB data line; each still ended by
// a blank line, so the client's parser meets it as one event.
net::awaitable<bool> SseOutlet::play_spoiled(const schema::Frame& f, FaultKind kind) {
    if (kind == FaultKind::oversize_at) {
        co_return co_await write(schema::sse_block("update", std::string(kOversizeBytes, 'x')));
    }
    const std::string block =
        s_.sse_tape ? f.bytes : sse_block_from_envelope(f.bytes).value_or(f.bytes);
    const std::string cut = block.substr(0, block.size() / 2) + "\n\n";
    co_return co_await write_event(cut);
}

net::awaitable<void> SseOutlet::end(const PlannedConnection& p, bool tape_end) {
    using schema::EndCause;
    const EndCause cause = p.recorded.end_cause;
    if (tape_end && s_.options.hold) {
        co_await conn_.wait_closed();
    } else if (!tape_end && cause == EndCause::heartbeat_timeout) {
        // The server went silent: nothing more until the client gives up.
        conn_.wake.expires_after(s_.silence_after(p));
        co_await conn_.wake.async_wait(kUseTuple);
        conn_.silence_outlasted = !conn_.closed;
        beast::error_code ignored;
        stream_.socket().close(ignored);
    } else if (tape_end || cause == EndCause::close || cause == EndCause::close_no_code) {
        co_await close(1000);
    } else {
        co_await end_transport(stream_, cause);
    }
}

// Answers `req` with an error before the stream starts. (The response is made outside the
// co_await: g++ 12 destroys temporaries of a nested call inside one twice.) True when the
// connection stays open for the next request.
net::awaitable<bool> answer(ServerStream& stream, Response res) {
    const bool keep_alive = res.keep_alive();
    auto [ec, n] = co_await http::async_write(stream, res, kUseTuple);
    co_return !ec && keep_alive;
}

}  // namespace

net::awaitable<bool> serve_sse(Streaming& s, ServerStream& stream, Request req,
                               schema::Subscription sub) {
    const std::string query = schema::split_target(req.target()).second;
    const std::string token = schema::request_token(req[http::field::authorization], query, "");
    if (auto problem = s.token_problem(token)) {
        Response res = streaming_error(req, http::status::unauthorized, *problem);
        co_return co_await answer(stream, std::move(res));
    }
    const auto param = schema::find_stream(sub.stream)->param;
    if (param != schema::StreamParam::none && sub.param.empty()) {
        const std::string key(schema::param_key(param));
        Response res =
            streaming_error(req, http::status::bad_request, "Missing " + key + " name parameter");
        co_return co_await answer(stream, std::move(res));
    }
    ClientState& client = s.admission.client(token);
    const Admitted a = s.admission.admit(client);
    if (!a.ok) {
        if (a.status == 0) {
            co_await end_transport(stream,
                                   schema::EndCause::reset);  // as the recorded attempt failed
            co_return false;
        }
        const std::string message =
            a.error_message.empty() ? "Service Unavailable" : a.error_message;
        Response res = streaming_error(req, static_cast<http::status>(a.status), message);
        co_return co_await answer(stream, std::move(res));
    }
    const std::string head = sse_head(
        s.sse_tape ? header_list(s.plan.connections[a.connection].recorded.response_headers_json)
                   : HeaderList{});
    auto [hec, hn] = co_await net::async_write(stream, net::buffer(head), kUseTuple);
    if (hec) {
        co_return false;
    }
    LiveConnection conn(stream.get_executor());
    conn.subscriptions.push_back(sub);
    SseOutlet out(s, stream, conn, client);
    // (Made before the co_await: g++ 12 destroys temporaries of a nested call inside one twice.)
    auto reader = out.watch_client();
    const std::function<void()> stop_reader = socket_closer(stream);
    co_await s.play(out, conn, client, a, std::move(reader), stop_reader);
    co_return false;
}

}  // namespace mastotape::replay
