#include "record/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <iostream>

#include "record/backfill.hpp"
#include "record/coro.hpp"
#include "record/discovery.hpp"
#include "record/transport.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/token_redaction.hpp"
#include "schema/tape/session_settings.hpp"
#include "schema/text/byte_codec.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
using schema::FrameKind;

// Reading held back this long by the writer is reported as a disk that is not keeping up.
constexpr auto kSlowDisk = std::chrono::milliseconds(500);
// A connection up this long has proved the server works, even with nothing received.
constexpr std::chrono::nanoseconds kHealthyAfter = std::chrono::seconds(5);

std::string sse_label_of(const RecordOptions& o) {
    return o.transport == schema::Transport::sse ? o.subscriptions.front().label() : "";
}

// The message of what a coroutine threw; empty when it threw nothing.
std::string message_of(const std::exception_ptr& e) {
    if (!e) {
        return "";
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "an unknown error";
    }
}

std::chrono::milliseconds ms(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

}  // namespace

RecordingSession::RecordingSession(net::io_context& ioc, net::io_context& rest, SessionPlan plan)
    : ioc_(ioc),
      rest_ioc_(rest),
      plan_(std::move(plan)),
      transport_(
          std::make_unique<Transport>(plan_.options.cacert, ms(plan_.options.handshake_timeout_s))),
      sse_label_(sse_label_of(plan_.options)),
      tracker_(sse_label_),
      rejections_(plan_.options.subscriptions),
      backoff_(plan_.options.backoff_start_s, plan_.options.backoff_cap_s, plan_.options.seed),
      backoff_timer_(ioc) {
    const RecordOptions& o = plan_.options;
    connection_.url = plan_.url;
    connection_.subscriptions = o.subscriptions;
    connection_.token = o.token;
    connection_.token_in = o.token_in;
    connection_.heartbeat_timeout = ms(o.heartbeat_timeout_s);
    connection_.max_frame = o.max_frame;

    counters_.started_wall_ns = clock_.started_wall_ns();
    start_metrics();  // before the tape is touched: an address it cannot listen on leaves no trace
    const bool pattern = o.rotation.rotates() || o.db.find('%') != std::string::npos;
    if (pattern) {
        archive_ = std::make_unique<ArchiveFiles>(o.db, o.rotation, o.retention);
        rotate_at_wall_ns_ = archive_->boundary_after(clock_.started_wall_ns());
    }
    // A rotating archive starts a file of its own; a pattern alone names the tape to add to.
    const std::int64_t t0 = clock_.started_wall_ns();
    open_file(!pattern               ? o.db
              : o.rotation.rotates() ? archive_->path_at(t0)
                                     : archive_->name_at(t0),
              t0, std::nullopt);
    if (o.rotation.rotates()) {
        closer_ = std::make_unique<FileCloser>(*archive_, o.finish_file,
                                               [this](const std::string& line) { log(line); });
        closer_->prepare();
    }

    BackfillSettings b;
    b.subscriptions = o.subscriptions;
    b.rest_origin = plan_.rest_origin;
    b.token = o.token;
    b.limit = o.backfill_limit;
    b.rate_limit_wait_cap_s = o.rate_limit_wait_cap_s;
    // What the backfill finds goes back to the network thread, which numbers it, marks what the
    // stream already delivered, and queues it.
    backfill_ = std::make_unique<Backfill>(
        *transport_, clock_, rest_ioc_.get_executor(), std::move(b),
        [this](std::vector<schema::BackfillItem> items) {
            net::post(ioc_, [this, items = std::move(items)]() mutable {
                for (auto& item : items) {
                    item.session_id = session_id_;
                    item.seq = numbering_.next_backfill_item();
                    item.already_streamed = tracker_.streamed(item.object_id);
                    ++counters_.backfilled;
                    push(std::move(item));
                }
            });
        },
        [this](const std::string& line) { net::post(ioc_, [this, line] { log(line); }); });
}

RecordingSession::~RecordingSession() = default;

const char* RecordingSession::to_string(State s) {
    switch (s) {
        case State::starting:
            return "starting";
        case State::connecting:
            return "connecting";
        case State::connected:
            return "connected";
        case State::backoff:
            return "backoff";
        case State::stopped:
            return "stopped";
    }
    return "";
}

void RecordingSession::log(const std::string& line, bool always) {
    const RecordOptions& o = plan_.options;
    if (o.quiet && !always) {
        return;
    }
    const std::lock_guard lock(log_mutex_);  // the file closer logs from its own thread
    if (plan_.status_line) {
        std::cerr << "\r\033[K";
    }
    if (o.json_log) {
        std::string out = "{\"offset_ns\":" + std::to_string(clock_.elapsed_ns()) + ",\"message\":";
        schema::append_json_string(out, schema::redact(line, o.token));  // escaped by JSON
        std::cerr << out << "}\n";
    } else {
        // Server-sent text (an error message, a close reason) is printed escaped: a terminal
        // never sees its control characters.
        std::cerr << "record: " << schema::printable(schema::redact(line, o.token)) << '\n';
    }
}

std::string RecordingSession::status(bool final) const {
    const double secs = static_cast<double>(clock_.elapsed_ns()) / 1e9;
    char line[256];
    std::snprintf(line, sizeof line,
                  "%02d:%02d:%02d  %-10s  events %lld  %.1f/s  heartbeats %lld  gaps %lld  "
                  "backfilled %lld",
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60) % 60,
                  static_cast<int>(secs) % 60, to_string(final ? State::stopped : state_),
                  static_cast<long long>(counters_.event_frames),
                  secs > 0 ? static_cast<double>(counters_.event_frames) / secs : 0.0,
                  static_cast<long long>(counters_.heartbeats),
                  static_cast<long long>(counters_.gaps),
                  static_cast<long long>(counters_.backfilled));
    return line;
}

void RecordingSession::push(TapeWriter::Record r) {
    if (!writer_->push(std::move(r))) {
        report_backpressure();
    }
}

bool RecordingSession::writer_has_room() { return writer_->has_room(); }

// Holds reading while the writer is behind (WriterOptions::queue_limit_bytes), until the writer
// says it has room (on_room cancels the wait). A pause shorter than kSlowDisk is the writer
// taking its next batch, not a slow disk.
net::awaitable<void> RecordingSession::writer_room() {
    net::steady_timer room(ioc_);
    room.expires_after(kSlowDisk);
    room_ = &room;
    struct Forget {
        net::steady_timer*& room;
        ~Forget() { room = nullptr; }
    } forget{room_};
    while (!writer_->has_room()) {
        const auto [ec] = co_await room.async_wait(kUseTuple);
        if (!ec) {
            report_backpressure();
            room.expires_at(net::steady_timer::time_point::max());
        }
    }
}

void RecordingSession::report_backpressure() {
    if (!backpressure_reported_) {
        backpressure_reported_ = true;
        log("the disk is not keeping up: the writer queue is full, reading slows down until it "
            "drains");
    }
}

void RecordingSession::request_stop(schema::SessionEnd reason, const std::string& detail,
                                    bool cut_backfill) {
    if (stop_requested_) {
        return;
    }
    stop_requested_ = true;
    stop_reason_ = reason;
    stop_detail_ = detail;
    backoff_timer_.cancel();
    discovery_.cancel();
    if (cut_backfill) {
        backfill_->interrupt();
    }
    if (live_ != nullptr) {
        live_->stop();
    }
}

void RecordingSession::on_frame(FrameKind kind, std::string bytes) {
    schema::Frame f;
    f.session_id = session_id_;
    f.seq = numbering_.next_frame();
    f.connection_idx = current_connection_;
    f.offset_ns = clock_.offset_now();
    f.wall_ns = clock_.wall(f.offset_ns);
    f.columns = schema::expected_columns(plan_.options.transport, kind, bytes, sse_label_);
    f.bytes = std::move(bytes);
    count_frame(f);
    if (f.columns.kind == FrameKind::event) {
        tracker_.note(f);
    } else if (f.columns.kind == FrameKind::error) {
        rejected(f.bytes);
    }
    const std::int64_t wall_ns = f.wall_ns;
    push(std::move(f));
    const std::int64_t max_events = plan_.options.max_events;
    if (max_events > 0 && counters_.event_frames >= max_events) {
        request_stop(schema::SessionEnd::count, std::to_string(max_events) + " events recorded");
    }
    maybe_rotate(wall_ns);
}

// An error frame: a subscription the server will not serve. Said at once; when it was the last
// one left, the recording has nothing to record.
void RecordingSession::rejected(const std::string& error_frame) {
    const auto r = rejections_.on_error_frame(error_frame);
    if (!r) {
        return;
    }
    log("the server rejected stream " + r->subscription.spec() + ": " + r->message, true);
    if (rejections_.all_rejected()) {
        outcome_ = RecordOutcome::failed;
        request_stop(schema::SessionEnd::error,
                     "the server rejected every stream of this recording (the last, " +
                         r->subscription.spec() + ": " + r->message + "); check --stream");
    }
}

void RecordingSession::on_sent(schema::MessageKind kind, std::string bytes) {
    schema::ClientMessage m;
    m.session_id = session_id_;
    m.seq = numbering_.next_client_message();
    m.connection_idx = current_connection_;
    m.offset_ns = clock_.offset_now();
    m.wall_ns = clock_.wall(m.offset_ns);
    m.after_seq = numbering_.last_frame();
    m.kind = kind;
    m.bytes = std::move(bytes);
    push(std::move(m));
}

// The handshake is done: the row is stored, and the open gap closes and starts its backfill.
void RecordingSession::on_up(schema::Connection& row) {
    row.handshake_offset_ns = clock_.offset_now();
    push(row);
    live_row_ = row;
    up_row_ = &row;
    ++counters_.connections;
    rejections_.connection_up();
    state_ = State::connected;
    log("connection " + std::to_string(row.idx) + " up: " + connection_.url.origin() +
        connection_.target(plan_.options.transport, false));
    if (!open_gap_) {
        return;
    }
    open_gap_->end_offset_ns = *row.handshake_offset_ns;
    open_gap_->end_wall_ns = clock_.wall(*row.handshake_offset_ns);
    if (plan_.options.backfill) {
        start_backfill();
    } else {
        open_gap_->backfill_status = schema::BackfillStatus::skipped;
        push(*open_gap_);
    }
    open_gap_.reset();
}

void RecordingSession::start_backfill() {
    open_gap_->backfill_status = schema::BackfillStatus::running;
    push(*open_gap_);
    ++backfills_in_flight_;
    // The network thread's loop must not run out of work while the REST thread backfills.
    net::co_spawn(rest_ioc_, backfill_->run(*open_gap_, gap_start_newest_),
                  [this, work = net::make_work_guard(ioc_)](const std::exception_ptr& e,
                                                            const schema::Gap& gap) mutable {
                      const std::string error = message_of(e);
                      net::post(ioc_, [this, gap, error] {
                          if (error.empty()) {
                              push(gap);
                              if (gap.backfill_error.find(kStoppedAtLimit) != std::string::npos) {
                                  ++counters_.backfill_limited;
                              }
                              // Every gap's outcome, "ok: 0 items" too: the gap lost nothing.
                              log("gap " + std::to_string(gap.idx) + " backfill " +
                                  std::string(schema::to_string(gap.backfill_status)) + ": " +
                                  std::to_string(gap.backfilled) + " items" +
                                  (gap.backfill_error.empty() ? std::string()
                                                              : " (" + gap.backfill_error + ")"));
                          } else {
                              log("backfill stopped by an error: " + error);
                          }
                          --backfills_in_flight_;
                          if (idle()) {
                              ioc_.stop();
                          }
                      });
                      work.reset();
                  });
}

void RecordingSession::mark_run_done(const std::exception_ptr& e) {
    const std::string error = message_of(e);
    run_done_ = true;
    if (!error.empty()) {
        stop_reason_ = schema::SessionEnd::error;
        stop_detail_ = error;
        outcome_ = RecordOutcome::failed;
    }
    // Waiting for the io_context to run out of work is not enough: what a finished connection
    // left behind (a close's timeout) would hold it for seconds.
    if (idle()) {
        ioc_.stop();
    }
}

// One attempt, through the transport the session records.
net::awaitable<Outcome> RecordingSession::attempt(schema::Connection& row) {
    const auto ex = ioc_.get_executor();
    auto connection = plan_.options.transport == schema::Transport::websocket
                          ? make_ws_connection(ex, *transport_, connection_, *this)
                          : make_sse_connection(ex, *transport_, connection_, *this);
    live_ = connection.get();
    Outcome out;
    try {
        out = co_await connection->run(row);
    } catch (...) {
        live_ = nullptr;
        throw;
    }
    live_ = nullptr;
    co_return out;
}

// Where the instance streams from; refuses (stops the session) a streaming URL that would carry
// the token in cleartext for an instance reached over TLS, unless the user allowed it.
net::awaitable<void> RecordingSession::discover_streaming_url() {
    const Discovery d =
        co_await discover(*transport_, plan_.rest_origin, plan_.options.transport, discovery_);
    if (stop_requested_) {
        co_return;
    }
    if (!d.streaming) {
        log("no streaming URL in the instance documents; streaming from " +
            connection_.url.origin());
        co_return;
    }
    if (d.downgrade && !plan_.options.allow_insecure_streaming) {
        outcome_ = RecordOutcome::failed;
        request_stop(schema::SessionEnd::error, "the instance " + plan_.rest_origin.origin() +
                                                    " names a cleartext streaming server, " +
                                                    d.streaming->origin() +
                                                    "; the token is not sent in the clear (pass "
                                                    "--allow-insecure-streaming to allow it)");
        co_return;
    }
    if (d.downgrade) {
        log("warning: streaming in cleartext from " + d.streaming->origin() +
            " (--allow-insecure-streaming): the token can be read on the way");
    }
    const std::string target = connection_.url.target;
    connection_.url = *d.streaming;
    connection_.url.target = target;
    log(d.note);
}

// Whether connection `row` showed the server works: a heartbeat came on it (the server's own
// timer running) or it stayed up a while. Only then does the backoff start over: a server that
// breaks each connection right after its handshake, or after the one event it had queued, is not
// hammered.
bool RecordingSession::proved_healthy(const schema::Connection& row,
                                      std::int64_t heartbeats_before) const {
    if (counters_.heartbeats > heartbeats_before) {
        return true;
    }
    return row.handshake_offset_ns && row.ended_offset_ns &&
           *row.ended_offset_ns - *row.handshake_offset_ns >= kHealthyAfter.count();
}

net::awaitable<void> RecordingSession::run() {
    std::int64_t reconnects = 0;
    if (plan_.discover) {
        co_await discover_streaming_url();
    }
    while (!stop_requested_) {
        schema::Connection row;
        row.session_id = session_id_;
        row.idx = numbering_.next_connection();
        current_connection_ = row.idx;
        row.url = connection_.url.origin() + connection_.target(plan_.options.transport, false);
        row.started_offset_ns = clock_.offset_now();
        row.started_wall_ns = clock_.wall(row.started_offset_ns);
        push(row);
        state_ = State::connecting;
        const std::int64_t heartbeats_before = counters_.heartbeats;
        const Outcome out = co_await attempt(row);
        ended(row, out);
        if (out.http_status && *out.http_status == 401) {
            outcome_ = RecordOutcome::token_refused;
            request_stop(schema::SessionEnd::error,
                         "the server refused the token: " +
                             (out.error_message.empty() ? std::string("401") : out.error_message));
            break;
        }
        if (!out.established && out.http_status &&
            (*out.http_status == 400 || *out.http_status == 404)) {
            // Not a passing trouble (that is 5xx, 429 or the network): asking again gets the same.
            outcome_ = RecordOutcome::failed;
            request_stop(
                schema::SessionEnd::error,
                "the server refused the stream: " + out.detail +
                    (row.error_message.empty() ? std::string()
                                               : " (" + schema::error_message_note(row) + ")") +
                    "; check --stream and the URL");
            break;
        }
        if (stop_requested_) {
            break;
        }
        if (out.established) {
            if (proved_healthy(row, heartbeats_before)) {
                // The server works: the backoff and --max-reconnects start over (an archive
                // that runs for weeks outlives any number of a server's restarts).
                backoff_.reset();
                reconnects = 0;
            }
            open_gap(row, out);
        }
        if (plan_.options.max_reconnects >= 0 && reconnects >= plan_.options.max_reconnects) {
            outcome_ = RecordOutcome::failed;
            request_stop(schema::SessionEnd::error,
                         "gave up after " + std::to_string(reconnects) +
                             " reconnects in a row without a healthy connection");
            break;
        }
        ++reconnects;
        state_ = State::backoff;
        backoff_timer_.expires_after(
            std::chrono::microseconds(static_cast<std::int64_t>(backoff_.next_delay_s() * 1e6)));
        co_await backoff_timer_.async_wait(kUseTuple);
    }
    if (open_gap_) {
        // The session ended while disconnected: the gap runs to the end.
        open_gap_->end_offset_ns = clock_.offset_now();
        open_gap_->end_wall_ns = clock_.wall(*open_gap_->end_offset_ns);
        push(*open_gap_);
    }
    state_ = State::stopped;
}

// Stores how attempt `row` ended and says so.
void RecordingSession::ended(schema::Connection& row, const Outcome& out) {
    row.ended_offset_ns = clock_.offset_now();
    row.ended_wall_ns = clock_.wall(*row.ended_offset_ns);
    row.end_cause = out.cause;
    row.close_code = out.close_code;
    // What the server said may echo the token (a close reason, a status line's reason phrase):
    // it is kept, without the token.
    const std::string& token = plan_.options.token;
    row.close_reason = schema::redact(out.close_reason, token);
    row.end_detail = schema::redact(out.detail, token);
    if (out.http_status && !out.established) {
        row.http_status = out.http_status;
    }
    row.error_message = schema::redact(out.error_message, token);
    push(row);
    live_row_.reset();
    up_row_ = nullptr;
    if (out.established) {
        log("connection " + std::to_string(row.idx) +
            " ended: " + std::string(schema::to_string(out.cause)) +
            (out.close_code ? " " + std::to_string(*out.close_code) : std::string()) +
            (out.detail.empty() ? std::string() : " (" + out.detail + ")"));
    } else {
        log("connection " + std::to_string(row.idx) + " failed: " + out.detail +
            (row.error_message.empty() ? std::string() : " " + schema::error_message_note(row)));
    }
}

// An established connection ended: a gap starts, remembering where the stream had got to.
void RecordingSession::open_gap(const schema::Connection& row, const Outcome& out) {
    schema::Gap g;
    g.session_id = session_id_;
    g.idx = numbering_.next_gap();
    ++counters_.connection_ends[std::string(schema::to_string(out.cause))];
    g.from_connection_idx = row.idx;
    g.start_offset_ns = *row.ended_offset_ns;
    g.start_wall_ns = clock_.wall(g.start_offset_ns);
    g.cause = out.cause;
    g.last_seq_before = numbering_.last_frame();
    push(g);
    open_gap_ = g;
    gap_start_newest_ = tracker_.newest();
    ++counters_.gaps;
}

RecordResult RecordingSession::finish(const std::string& hard_stop_detail) {
    const std::int64_t end = clock_.offset_now();
    state_ = State::stopped;
    if (live_row_) {
        // A second interrupt stopped the loop mid-connection: end the connection here.
        live_row_->ended_offset_ns = end;
        live_row_->ended_wall_ns = clock_.wall(end);
        live_row_->end_cause = schema::EndCause::local_stop;
        live_row_->end_detail = hard_stop_detail;
        push(*live_row_);
    }
    if (stop_reason_ == schema::SessionEnd::open) {
        stop_reason_ = schema::SessionEnd::stopped;
    }
    if (!hard_stop_detail.empty()) {
        stop_detail_ = hard_stop_detail;
    }
    writer_->finish(clock_.wall(end), end, stop_reason_, stop_detail_);
    if (const auto rescued = writer_->rescued(); !rescued.empty()) {
        std::cerr << "mastotape record: " << schema::printable(rescued) << '\n';
        return {RecordOutcome::failed, schema::SessionEnd::error, rescued};
    }
    if (const auto error = writer_->error(); !error.empty()) {
        std::cerr << "mastotape record: " << schema::printable(error)
                  << "; recording stopped (what was committed before is intact)\n";
        return {RecordOutcome::failed, schema::SessionEnd::error, error};
    }
    if (closer_) {
        // A rotating archive closes its last file as it closed the others: once the store is
        // closed (its WAL checkpointed) and the lock let go.
        writer_.reset();
        lock_.reset();
        closer_->close(ClosingFile{path_, nullptr, nullptr, clock_.wall(end), end, ""}, "");
        closer_->drain();
    }
    log("session " + std::to_string(session_id_) + " ended (" +
        std::string(schema::to_string(stop_reason_)) +
        "): " + std::to_string(counters_.event_frames) + " events, " +
        std::to_string(counters_.gaps) + " gaps");
    if (outcome_ != RecordOutcome::finished && !stop_detail_.empty()) {
        // Said even with --quiet: why the recording failed.
        std::cerr << "mastotape record: "
                  << schema::printable(schema::redact(stop_detail_, plan_.options.token)) << '\n';
    }
    return {outcome_, stop_reason_, stop_detail_};
}

}  // namespace mastotape::record
