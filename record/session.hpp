#pragma once

// A recording session: the loop of connection attempts and the gaps between them. It owns the
// session's row and its writer, numbers what each connection reports (frames, client messages,
// the connection rows) and queues it for the disk, closes a gap at the next handshake and starts
// its backfill on the REST thread, and backs off between attempts. Everything but the backfill
// runs on the network thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "record/archive_files.hpp"
#include "record/backoff.hpp"
#include "record/file_closer.hpp"
#include "record/http_client.hpp"
#include "record/metrics_server.hpp"
#include "record/recorder.hpp"
#include "record/recorder_metrics.hpp"
#include "record/rejections.hpp"
#include "record/session_clock.hpp"
#include "record/stream_connection.hpp"
#include "record/stream_tracker.hpp"
#include "record/tape_writer.hpp"
#include "schema/tape/recorder_lock.hpp"
#include "schema/tape/session_numbering.hpp"

namespace mastotape::record {

class Backfill;
struct Transport;

// Where a session records from, as Recorder has worked it out from the options.
struct SessionPlan {
    RecordOptions options;     // heartbeat_timeout_s resolved
    schema::Url url;           // the streaming endpoint
    schema::Url rest_origin;   // where REST requests go
    bool discover = false;     // read the instance's streaming URL first
    bool status_line = false;  // a status line is on the terminal: log lines clear it first
};

class RecordingSession final : public ConnectionEvents {
   public:
    // Opens (or creates) the tape and starts the session's row; throws TapeError or
    // std::invalid_argument. `ioc` is the network thread's, `rest` the REST thread's.
    RecordingSession(boost::asio::io_context& ioc, boost::asio::io_context& rest, SessionPlan plan);
    ~RecordingSession() override;

    std::int64_t id() const { return session_id_; }
    // Records until stopped; then closes an open gap. Network thread.
    boost::asio::awaitable<void> run();
    // Ends the recording (network thread): the live connection closes, no reconnect follows.
    // `cut_backfill`: an interrupt cuts a backfill in flight short; any other stop lets it finish
    // (it is bounded by --backfill-limit and the rate-limit wait cap).
    void request_stop(schema::SessionEnd reason, const std::string& detail,
                      bool cut_backfill = false);
    // Called once run() has returned (with what it threw, if anything): the network thread's
    // loop stops as soon as no backfill is left.
    void mark_run_done(const std::exception_ptr& e);
    // After the threads have stopped: ends a connection still open (a second interrupt), commits
    // everything, marks the session ended. Returns how the recording went.
    RecordResult finish(const std::string& hard_stop_detail);

    // A line on stderr, unless --quiet; `always`: even then (what the user must act on).
    void log(const std::string& line, bool always = false);
    // The status line: elapsed, state ("stopped" when `final`), events, events/s, heartbeats,
    // gaps, backfilled.
    std::string status(bool final) const;
    bool stopped() const { return state_ == State::stopped; }
    // The file being written (with rotation, the one the pattern named last).
    const std::string& path() const { return path_; }
    // What --metrics serves, as of now.
    MetricsSnapshot metrics() const;

    // ConnectionEvents
    void on_frame(schema::FrameKind kind, std::string bytes) override;
    void on_sent(schema::MessageKind kind, std::string bytes) override;
    void on_up(schema::Connection& row) override;
    bool writer_has_room() override;
    boost::asio::awaitable<void> writer_room() override;

   private:
    enum class State { starting, connecting, connected, backoff, stopped };
    static const char* to_string(State s);

    boost::asio::awaitable<void> discover_streaming_url();
    boost::asio::awaitable<Outcome> attempt(schema::Connection& row);
    bool proved_healthy(const schema::Connection& row, std::int64_t heartbeats_before) const;
    void ended(schema::Connection& row, const Outcome& out);
    void open_gap(const schema::Connection& row, const Outcome& out);
    void start_backfill();
    bool idle() const { return run_done_ && backfills_in_flight_ == 0; }
    void push(TapeWriter::Record r);
    void report_backpressure();
    void rejected(const std::string& error_frame);
    // A new file's session, its lock and its writer (session_rotation.cpp); `from`: the session
    // it continues.
    void open_file(const std::string& path, std::int64_t started_wall_ns,
                   const std::optional<schema::RotationLink>& from);
    WriterOptions writer_options();
    // After a frame: rotates when a boundary or the size is due and the moment is clean (a
    // connection up, no gap open, no backfill in flight).
    void maybe_rotate(std::int64_t wall_ns);
    void rotate();
    void take_prepared(const std::string& next);
    void start_metrics();
    void count_frame(const schema::Frame& f);

    boost::asio::io_context& ioc_;
    boost::asio::io_context& rest_ioc_;
    SessionPlan plan_;
    ConnectionSettings connection_;
    std::unique_ptr<Transport> transport_;
    std::unique_ptr<schema::RecorderLock> lock_;  // taken with the session row, held to the end
    std::optional<bool> lock_seen_;          // whether readers can see the lock here (probed once)
    std::string path_;                       // the file being written
    std::unique_ptr<ArchiveFiles> archive_;  // with --rotate
    std::unique_ptr<FileCloser> closer_;     // with --rotate: closes the files left behind
    std::optional<std::int64_t> rotate_at_wall_ns_;  // the time boundary the file closes at
    schema::Connection* up_row_ = nullptr;           // the live connection's row, as run() holds it
    std::unique_ptr<MetricsServer> metrics_server_;
    RecorderCounters counters_;  // but its events, which metrics() fills from event_tally_
    // Event frames by stream label as recorded, then event name (the hot path's form).
    std::map<std::string, std::map<std::string, std::int64_t, std::less<>>, std::less<>>
        event_tally_;
    mutable std::mutex log_mutex_;
    // Bytes every writer of the recording has committed (a closing one goes on adding).
    std::shared_ptr<std::atomic<std::int64_t>> committed_bytes_ =
        std::make_shared<std::atomic<std::int64_t>>(0);
    std::unique_ptr<TapeWriter> writer_;
    std::unique_ptr<Backfill> backfill_;
    SessionClock clock_;
    std::int64_t session_id_ = 0;
    std::string sse_label_;  // an SSE session's one stream label, for its frames (which have none)
    StreamTracker tracker_;
    Rejections rejections_;
    Backoff backoff_;
    boost::asio::steady_timer backoff_timer_;
    boost::asio::steady_timer* room_ = nullptr;  // writer_room()'s wait, while it waits
    StreamConnection* live_ = nullptr;           // the attempt under way, while run() awaits it
    RequestCanceller discovery_;                 // a stop ends the discovery in flight

    // Counters (network thread only).
    schema::SessionNumbering numbering_;
    std::int64_t current_connection_ = 0;

    State state_ = State::starting;
    bool backpressure_reported_ = false;
    bool stop_requested_ = false;
    schema::SessionEnd stop_reason_ = schema::SessionEnd::open;
    std::string stop_detail_;
    RecordOutcome outcome_ = RecordOutcome::finished;
    bool run_done_ = false;
    int backfills_in_flight_ = 0;
    std::optional<schema::Connection> live_row_;  // the connection in progress, for a hard stop
    std::optional<schema::Gap> open_gap_;         // the gap in progress
    std::map<std::string, std::string> gap_start_newest_;  // newest ids when the gap began
};

}  // namespace mastotape::record
