#include "schema/ops/synth.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <future>
#include <map>
#include <random>
#include <stdexcept>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/streams.hpp"
#include "schema/ops/synth_content.hpp"
#include "schema/tape/session_numbering.hpp"
#include "schema/tape/session_settings.hpp"

namespace mastotape::schema {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::size_t kFlushEvery = 8192;

constexpr std::array<EndCause, 7> kCauses{EndCause::eof,
                                          EndCause::reset,
                                          EndCause::close,
                                          EndCause::close_no_code,
                                          EndCause::heartbeat_timeout,
                                          EndCause::tls_error,
                                          EndCause::network_error};

// Writes one session: connections, heartbeats, events drawn from SynthContent, gaps with their
// failed attempts and backfill, in batches stored on a second thread.
class Synth {
   public:
    Synth(TapeStore& store, const SynthOptions& o,
          const std::function<void(std::int64_t)>& progress)
        : store_(store), o_(o), rng_(o.seed), content_(o, rng_), progress_(progress) {}

    std::int64_t run();

   private:
    using Drawn = SynthContent::Drawn;
    double uniform() { return schema::uniform(rng_); }
    std::int64_t pick(std::int64_t n) { return schema::pick(rng_, n); }
    std::int64_t wall(std::int64_t offset) const { return schema::wall(o_, offset); }

    void validate();
    void open_connection(std::int64_t at, bool resubscribe);
    void end_connection(std::int64_t at, EndCause cause);
    void emit_frame(std::int64_t at, FrameKind kind, std::string bytes);
    void emit_client(std::int64_t at, MessageKind kind, std::string bytes);
    void emit_heartbeats_until(std::int64_t until);
    void emit_event(std::int64_t at, const Subscription& sub, const Drawn& d);
    std::int64_t run_gap(std::int64_t end_at, EndCause cause);
    std::int64_t fail_attempts(std::int64_t t, std::int64_t& backoff);
    std::vector<std::pair<const Subscription*, Drawn>> draw_missed(std::int64_t from,
                                                                   std::int64_t to);
    void add_backfill(Gap& g, const Drawn& d, bool streamed,
                      const std::map<std::string, std::string>& seen_before,
                      std::int64_t& fetched_at);
    void flush(bool force);

    TapeStore& store_;
    const SynthOptions& o_;
    std::mt19937_64 rng_;
    SynthContent content_;
    const std::function<void(std::int64_t)>& progress_;

    std::int64_t session_id_ = 0;
    Batch batch_;
    std::future<void> storing_;  // the batch being stored
    std::vector<std::string> labels_;
    std::string sse_label_;
    Connection conn_;
    SessionNumbering numbering_;
    std::int64_t next_ping_ = 0;
    std::int64_t last_activity_ = 0;
    std::int64_t events_written_ = 0;
    std::map<std::string, std::string>
        newest_seen_;  // timeline (endpoint?filter) -> newest id streamed
};

void Synth::validate() {
    if (o_.subscriptions.empty()) {
        throw std::invalid_argument("synth needs at least one stream");
    }
    if (o_.transport == Transport::sse && o_.subscriptions.size() != 1) {
        throw std::invalid_argument("SSE takes exactly one stream per session");
    }
    if (o_.rate <= 0) {
        throw std::invalid_argument("--rate must be positive");
    }
    if (o_.events < 0) {
        throw std::invalid_argument("--events must not be negative");
    }
    for (const auto& s : o_.subscriptions) {
        const StreamInfo* info = find_stream(s.stream);
        if (info == nullptr) {
            throw std::invalid_argument("unknown stream \"" + s.stream + "\"");
        }
        if (info->param != StreamParam::none && s.param.empty()) {
            throw std::invalid_argument("stream \"" + s.stream + "\" needs a tag or list id");
        }
    }
    for (const auto& c : o_.connection_ends) {
        const auto cause = end_cause_from_string(c);
        if (!cause || std::find(kCauses.begin(), kCauses.end(), *cause) == kCauses.end()) {
            throw std::invalid_argument("unknown connection end \"" + c + "\"");
        }
    }
    for (const auto& e : o_.event_mix) {
        bool delivered = false;
        for (const auto& s : o_.subscriptions) {
            delivered = delivered || stream_carries(s.stream, e);
        }
        if (!delivered) {
            throw std::invalid_argument("event \"" + e + "\" is not delivered on these streams");
        }
    }
}

// Batches are stored on a second thread while the next one is made (the store is used by one
// thread at a time: each append waits for the one before, and `force` for its own).
void Synth::flush(bool force) {
    if (force || batch_.size() >= kFlushEvery) {
        if (storing_.valid()) {
            storing_.get();  // rethrows what the append threw
        }
        const auto id = batch_.session_id;
        storing_ =
            std::async(std::launch::async, [this, b = std::move(batch_)] { store_.append(b); });
        batch_ = Batch{};
        batch_.session_id = id;
        if (force) {
            storing_.get();
        }
    }
}

void Synth::emit_frame(std::int64_t at, FrameKind kind, std::string bytes) {
    Frame f;
    f.session_id = session_id_;
    f.seq = numbering_.next_frame();
    f.connection_idx = conn_.idx;
    f.offset_ns = at;
    f.wall_ns = wall(at);
    f.columns = expected_columns(o_.transport, kind, bytes, sse_label_);
    f.bytes = std::move(bytes);
    batch_.records.push_back(std::move(f));
    last_activity_ = at;
    flush(false);
}

void Synth::emit_client(std::int64_t at, MessageKind kind, std::string bytes) {
    ClientMessage m;
    m.session_id = session_id_;
    m.seq = numbering_.next_client_message();
    m.connection_idx = conn_.idx;
    m.offset_ns = at;
    m.wall_ns = wall(at);
    m.after_seq = numbering_.last_frame();
    m.kind = kind;
    m.bytes = std::move(bytes);
    batch_.records.push_back(std::move(m));
}

void Synth::emit_heartbeats_until(std::int64_t until) {
    while (next_ping_ < until) {
        if (o_.transport == Transport::websocket) {
            emit_frame(next_ping_, FrameKind::ping, "");
            emit_client(next_ping_ + 150'000, MessageKind::pong, "");
            next_ping_ += kPingIntervalNs + pick(3 * kMs);
        } else {
            emit_frame(next_ping_, FrameKind::comment, ":thump\n\n");
            next_ping_ += kThumpIntervalNs;
        }
    }
}

void Synth::emit_event(std::int64_t at, const Subscription& sub, const Drawn& d) {
    const std::size_t sub_index = static_cast<std::size_t>(&sub - o_.subscriptions.data());
    emit_frame(at, FrameKind::event,
               o_.transport == Transport::websocket
                   ? ws_envelope(labels_[sub_index], d.event, d.payload)
                   : sse_block(d.event, d.payload));
    if (!d.endpoint.empty()) {
        newest_seen_[d.timeline()] = d.id;
    }
    ++events_written_;
    if (progress_ && (events_written_ & 0x3fff) == 0) {
        progress_(events_written_);
    }
}

void Synth::open_connection(std::int64_t at, bool resubscribe) {
    conn_ = Connection{};
    conn_.session_id = session_id_;
    conn_.idx = numbering_.next_connection();
    conn_.started_offset_ns = at;
    conn_.started_wall_ns = wall(at);
    const std::int64_t handshake = at + 38 * kMs + pick(10 * kMs);
    conn_.handshake_offset_ns = handshake;
    if (o_.transport == Transport::websocket) {
        conn_.url = "wss://" + o_.host + "/api/v1/streaming";
        if (o_.subscriptions.size() == 1 && !o_.error_frame) {
            const auto& s = o_.subscriptions.front();
            conn_.url += "?" + websocket_query(s);
        }
        conn_.http_status = 101;
        conn_.response_headers_json = "{\"X-Request-Id\":\"" + content_.uuid() + "\"}";
    } else {
        conn_.url = "https://" + o_.host + sse_target(o_.subscriptions.front());
        conn_.http_status = 200;
        // Mastodon's head, in its order (Express on Node).
        const std::string date = http_date(wall(handshake));
        conn_.response_headers_json =
            "{\"X-Powered-By\":\"Express\",\"X-Request-Id\":\"" + content_.uuid() +
            "\",\"Access-Control-Allow-Origin\":\"*\",\"Content-Type\":\"text/event-stream\","
            "\"Cache-Control\":\"private, "
            "no-store\",\"Transfer-Encoding\":\"chunked\",\"Date\":\"" +
            date + "\",\"Connection\":\"keep-alive\",\"Keep-Alive\":\"timeout=5\"}";
    }
    batch_.records.push_back(conn_);
    if (o_.transport == Transport::sse) {
        emit_frame(handshake, FrameKind::comment, ":)\n");
        next_ping_ = handshake + kThumpIntervalNs;
        return;
    }
    next_ping_ = handshake + pick(kPingIntervalNs);
    std::int64_t t = handshake + kMs;
    if (o_.subscriptions.size() > 1 || o_.error_frame) {
        for (const auto& s : o_.subscriptions) {
            emit_client(t, MessageKind::text, subscribe_message(s));
            t += 100'000;
        }
        if (o_.error_frame && !resubscribe) {
            emit_client(t, MessageKind::text,
                        "{\"type\":\"subscribe\",\"stream\":\"public:nope\"}");
            emit_frame(t + 4 * kMs, FrameKind::error,
                       "{\"error\":\"Unknown stream type\",\"status\":400}");
        }
    }
    last_activity_ = handshake;
}

void Synth::end_connection(std::int64_t at, EndCause cause) {
    conn_.ended_offset_ns = at;
    conn_.ended_wall_ns = wall(at);
    conn_.end_cause = cause;
    if (cause == EndCause::eof) {
        conn_.close_code = 1006;
        conn_.end_detail = "end of stream without a close frame";
    } else if (cause == EndCause::reset) {
        conn_.close_code = 1006;
        conn_.end_detail = "Connection reset by peer";
    } else if (cause == EndCause::close) {
        conn_.close_code = 1001;
        conn_.close_reason = "going away";
    } else if (cause == EndCause::close_no_code) {
        conn_.close_code = 1005;
    } else if (cause == EndCause::heartbeat_timeout) {
        conn_.end_detail =
            "no frame or ping for " + std::to_string(o_.heartbeat_timeout_ns / kSec) + " s";
    } else if (cause == EndCause::tls_error) {
        conn_.end_detail = "decryption failed or bad record mac (SSL routines)";
    } else if (cause == EndCause::network_error) {
        conn_.end_detail = "Network is unreachable";
    } else if (cause == EndCause::local_stop && o_.transport == Transport::websocket) {
        conn_.close_code = 1000;  // the recorder's close frame; SSE has none
    }
    batch_.records.push_back(conn_);
}

// The attempts that fail in a gap from `t` on, with the backoff doubling from `backoff`; returns
// the time of the last one.
std::int64_t Synth::fail_attempts(std::int64_t t, std::int64_t& backoff) {
    for (std::int64_t i = 0; i < o_.failed_attempts; ++i) {
        t += backoff / 2 + pick(backoff / 2);
        backoff *= 2;
        Connection failed;
        failed.session_id = session_id_;
        failed.idx = numbering_.next_connection();
        failed.url = conn_.url;
        failed.started_offset_ns = t;
        failed.started_wall_ns = wall(t);
        failed.http_status = 502;
        failed.ended_offset_ns = t + 20 * kMs;
        failed.ended_wall_ns = wall(t + 20 * kMs);
        failed.end_cause = EndCause::handshake_failed;
        failed.end_detail = "HTTP 502 Bad Gateway";
        batch_.records.push_back(failed);
        conn_ = failed;
    }
    return t;
}

// Events published while nobody listened, spread over the gap from `from` to a second past `to`.
std::vector<std::pair<const Subscription*, Synth::Drawn>> Synth::draw_missed(std::int64_t from,
                                                                             std::int64_t to) {
    std::vector<std::pair<const Subscription*, Drawn>> missed;
    for (std::int64_t i = 0; i < o_.missed_per_gap; ++i) {
        const auto& sub = o_.subscriptions[static_cast<std::size_t>(
            pick(static_cast<std::int64_t>(o_.subscriptions.size())))];
        const std::int64_t at = from + (to + kSec - from) * (i + 1) / (o_.missed_per_gap + 1);
        missed.emplace_back(&sub, content_.draw_event(sub, at, true));
    }
    return missed;
}

// Stores `d` as fetched by gap `g`'s backfill at `fetched_at` (then a little later for the
// next), from where the stream had got to before the gap (`seen_before`).
void Synth::add_backfill(Gap& g, const Drawn& d, bool streamed,
                         const std::map<std::string, std::string>& seen_before,
                         std::int64_t& fetched_at) {
    if (d.endpoint.empty()) {
        return;
    }
    BackfillItem b;
    b.session_id = session_id_;
    b.seq = numbering_.next_backfill_item();
    b.gap_idx = g.idx;
    b.offset_ns = fetched_at;
    b.wall_ns = wall(fetched_at);
    b.endpoint = d.endpoint;
    const auto seen = seen_before.find(d.timeline());
    b.query = d.filter + (d.filter.empty() ? "" : "&") +
              (seen == seen_before.end() ? "" : "min_id=" + seen->second + "&") + "limit=40";
    b.http_status = 200;
    b.object_id = d.id;
    b.body = d.payload;
    b.already_streamed = streamed;
    batch_.records.push_back(std::move(b));
    fetched_at += 100'000;
    ++g.backfilled;
}

// Ends the current connection with `cause` at `end_at`, fails some attempts, reconnects, and
// backfills what was published in between. Returns the time the new connection is up.
std::int64_t Synth::run_gap(std::int64_t end_at, EndCause cause) {
    const std::int64_t gap_idx = numbering_.next_gap();
    end_connection(end_at, cause);
    // The recorder answers a close frame with one of its own echoing the code, without the
    // reason (1000 when the server's had no code), as Beast does.
    if (o_.transport == Transport::websocket && cause == EndCause::close) {
        emit_client(end_at + 100'000, MessageKind::close, std::string("\x03\xe9", 2));
    } else if (o_.transport == Transport::websocket && cause == EndCause::close_no_code) {
        emit_client(end_at + 100'000, MessageKind::close, std::string("\x03\xe8", 2));
    }
    Gap g;
    g.session_id = session_id_;
    g.idx = gap_idx;
    g.from_connection_idx = conn_.idx;
    g.start_offset_ns = end_at;
    g.start_wall_ns = wall(end_at);
    g.cause = cause;
    g.last_seq_before = numbering_.last_frame();

    std::int64_t backoff = kSec;
    std::int64_t t = fail_attempts(end_at, backoff);
    const auto missed = draw_missed(end_at, t);
    t += backoff / 2 + pick(backoff / 2);
    const auto seen_before = newest_seen_;
    open_connection(t, true);
    const std::int64_t up = *conn_.handshake_offset_ns;
    g.end_offset_ns = up;
    g.end_wall_ns = wall(up);

    // The first event after reconnecting arrives before the backfill completes, so the backfill
    // finds it again: it is marked as already streamed. A ping due before it goes first (the
    // connection's first ping falls anywhere in its first 30 s), or offsets would go backwards.
    emit_heartbeats_until(up + 50 * kMs);
    const auto& first_sub = o_.subscriptions.front();
    const Drawn first = content_.draw_event(first_sub, up + 50 * kMs, true);
    emit_event(up + 50 * kMs, first_sub, first);

    if (!o_.backfill) {
        g.backfill_status = BackfillStatus::skipped;
        batch_.records.push_back(g);
        return up + 50 * kMs;
    }
    // Each page is newest first, as Mastodon returns it.
    std::int64_t fetched_at = up + 120 * kMs;
    add_backfill(g, first, true, seen_before, fetched_at);
    for (auto it = missed.rbegin(); it != missed.rend(); ++it) {
        add_backfill(g, it->second, false, seen_before, fetched_at);
    }
    g.backfill_status = BackfillStatus::ok;
    batch_.records.push_back(g);
    // The next event comes after the backfill's last fetch: one before it would be on the page.
    return fetched_at;
}

std::int64_t Synth::run() {
    validate();
    for (const auto& s : o_.subscriptions) {
        labels_.push_back(s.label());
    }
    if (o_.transport == Transport::sse) {
        sse_label_ = labels_.front();
    }
    Session s;
    s.label = o_.label.empty() ? "synth seed " + std::to_string(o_.seed) : o_.label;
    s.source = (o_.transport == Transport::websocket ? "wss://" : "https://") + o_.host;
    s.instance = "https://" + o_.host;
    s.transport = o_.transport;
    s.subscriptions = o_.subscriptions;
    s.started_wall_ns = o_.start_wall_ns;
    s.updated_wall_ns = o_.start_wall_ns;
    SessionSettings settings;
    settings.synth_seed = o_.seed;
    settings.heartbeat_timeout_ms = o_.heartbeat_timeout_ns / kMs;
    s.settings_json = settings.to_json();

    std::int64_t end_offset = 0;
    store_.in_transaction([&] {
        // Whatever goes wrong, no append may still run when the transaction rolls back.
        struct WaitForStoring {
            std::future<void>& f;
            ~WaitForStoring() {
                if (f.valid()) {
                    f.wait();
                }
            }
        } wait_for_storing{storing_};
        session_id_ = store_.create_session(s);
        batch_.session_id = session_id_;
        open_connection(0, false);
        std::int64_t t = *conn_.handshake_offset_ns + 5 * kMs;
        const std::size_t gaps = o_.connection_ends.size();
        std::size_t next_gap = 0;
        std::int64_t i = 0;
        while (i < o_.events) {
            if (next_gap < gaps && i >= o_.events * static_cast<std::int64_t>(next_gap + 1) /
                                            static_cast<std::int64_t>(gaps + 1)) {
                const EndCause cause = *end_cause_from_string(o_.connection_ends[next_gap++]);
                std::int64_t end_at = t + 500 * kMs;
                if (cause == EndCause::heartbeat_timeout) {
                    end_at = last_activity_ + o_.heartbeat_timeout_ns;
                }
                emit_heartbeats_until(cause == EndCause::heartbeat_timeout ? last_activity_ + 1
                                                                           : end_at);
                t = run_gap(end_at, cause);
                ++i;  // the first event after reconnecting
                continue;
            }
            const double u = uniform();
            t += std::max<std::int64_t>(1000,
                                        static_cast<std::int64_t>(-std::log1p(-u) / o_.rate * 1e9));
            emit_heartbeats_until(t);
            const auto& sub = o_.subscriptions[static_cast<std::size_t>(
                pick(static_cast<std::int64_t>(o_.subscriptions.size())))];
            emit_event(t, sub, content_.draw_event(sub, t, false));
            ++i;
        }
        end_offset = t + kSec;
        emit_heartbeats_until(end_offset);
        if (o_.transport == Transport::websocket) {
            emit_client(end_offset, MessageKind::close, std::string("\x03\xe8", 2));
        }
        end_connection(end_offset + 2 * kMs, EndCause::local_stop);
        end_offset += 2 * kMs;
        flush(true);
        store_.end_session(session_id_, wall(end_offset), end_offset, SessionEnd::stopped, "");
    });
    return session_id_;
}

}  // namespace

std::span<const EndCause> synth_connection_ends() { return kCauses; }

std::int64_t synthesize(TapeStore& store, const SynthOptions& options,
                        const std::function<void(std::int64_t)>& progress) {
    Synth synth(store, options, progress);
    return synth.run();
}

}  // namespace mastotape::schema
