// RecordingSession's files and what it tells its monitoring: opening a tape's session and writer,
// rotating to the next file on the same live connection (--rotate), and the metrics snapshot and
// server (--metrics).

#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "record/session.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/tape/session_settings.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;

std::int64_t wall_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t disk_free(const std::string& path) {
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    struct statvfs v {};
    if (::statvfs(folder.empty() ? "." : folder.c_str(), &v) != 0) {
        return -1;
    }
    return static_cast<std::int64_t>(v.f_bavail) * static_cast<std::int64_t>(v.f_frsize);
}

// A stream label as --stream names it ("hashtag=rust"), else as the server sent it.
std::string stream_name(const std::string& label) {
    const auto s = schema::subscription_of_label(label);
    return s ? s->spec() : label;
}

// The count under `key`, made on first sight; found without a copy of the key after that.
template <typename Map>
auto& tally_of(Map& map, std::string_view key) {
    auto it = map.find(key);
    if (it == map.end()) {
        it = map.emplace(std::string(key), typename Map::mapped_type{}).first;
    }
    return it->second;
}

}  // namespace

WriterOptions RecordingSession::writer_options() {
    const RecordOptions& o = plan_.options;
    WriterOptions wo;
    wo.batch_interval = std::chrono::milliseconds(o.batch_interval_ms);
    wo.batch_records = o.batch_records;
    wo.queue_limit_bytes = o.write_buffer_bytes;
    wo.sync_full = o.sync_full;
    wo.committed_bytes = committed_bytes_;
    // The disk failed (full, most often), or the tape's path lost the file: the network side
    // stops at once instead of reading on for nothing (or for a file no name reaches). finish()
    // says why.
    wo.on_error = [this](const std::string& error) {
        net::post(ioc_, [this, error] { request_stop(schema::SessionEnd::error, error, true); });
    };
    // Posted: the wait it ends is the network thread's (and began before the room came, since
    // writer_room() asks has_room() on that thread before it waits).
    wo.on_room = [this] {
        net::post(ioc_, [this] {
            if (room_ != nullptr) {
                room_->cancel();
            }
        });
    };
    return wo;
}

void RecordingSession::open_file(const std::string& path, std::int64_t started_wall_ns,
                                 const std::optional<schema::RotationLink>& from) {
    const RecordOptions& o = plan_.options;
    if (archive_) {
        const auto folder = std::filesystem::path(path).parent_path();
        std::error_code ec;
        if (!folder.empty()) {
            std::filesystem::create_directories(folder, ec);
        }
    }
    auto store = std::make_unique<schema::TapeStore>(path, schema::OpenMode::create);
    store->set_compression(o.compression);
    schema::Session s;
    s.label = o.label;
    s.source = plan_.url.origin();
    s.instance = schema::without_access_token(o.target);
    s.transport = o.transport;
    s.subscriptions = o.subscriptions;
    s.started_wall_ns = started_wall_ns;
    s.updated_wall_ns = started_wall_ns;
    schema::SessionSettings settings;
    settings.heartbeat_timeout_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(connection_.heartbeat_timeout)
            .count();
    settings.token_in = o.token_in;
    settings.rotated_from = from;
    s.settings_json = settings.to_json();
    // Held until the file is closed: readers tell this live recorder from a dead one by it.
    session_id_ = store->create_session(s, &lock_, &lock_seen_);
    path_ = path;
    writer_ = std::make_unique<TapeWriter>(std::move(store), session_id_, writer_options());
}

void RecordingSession::maybe_rotate(std::int64_t wall_ns) {
    if (!closer_ || state_ != State::connected || up_row_ == nullptr || open_gap_ ||
        backfills_in_flight_ > 0 || stop_requested_) {
        return;
    }
    const bool time_due = rotate_at_wall_ns_ && wall_ns >= *rotate_at_wall_ns_;
    if (time_due || archive_->size_due(writer_->file_bytes())) {
        rotate();
    }
}

// The live connection's row ends in this file as `rotated` and goes on as the next file's
// connection 0, up from its start; the next session counts its records from 1 again and its
// offsets from the rotation. Nothing is read from the socket meanwhile: no frame is lost or
// written twice.
void RecordingSession::rotate() {
    const std::int64_t at = clock_.offset_now();
    const std::int64_t at_wall = clock_.wall(at);
    const std::string next = archive_->path_at(at_wall);
    const std::string old_path = path_;
    const std::int64_t old_id = session_id_;
    const std::string detail = "continued in " + next;

    schema::Connection ending = *up_row_;
    ending.ended_offset_ns = at;
    ending.ended_wall_ns = at_wall;
    ending.end_cause = schema::EndCause::rotated;
    ending.end_detail = detail;
    push(ending);

    ClosingFile closing;
    closing.path = old_path;
    closing.ended_wall_ns = at_wall;
    closing.ended_offset_ns = at;
    closing.detail = detail;
    closing.writer = std::move(writer_);
    closing.lock = std::move(lock_);
    const schema::RotationLink from{relative_to_folder_of(next, old_path), old_id,
                                    numbering_.last_frame()};
    take_prepared(next);
    open_file(next, at_wall, from);
    closer_->prepare();
    closing.writer->set_rotated_to({relative_to_folder_of(old_path, next), session_id_, 1});
    closer_->close(std::move(closing), path_);

    clock_.rebase(at);
    numbering_ = schema::SessionNumbering{};
    schema::Connection& row = *up_row_;
    row.session_id = session_id_;
    row.idx = numbering_.next_connection();
    row.started_offset_ns = 0;
    row.started_wall_ns = clock_.wall(0);
    row.handshake_offset_ns = 0;
    current_connection_ = row.idx;
    push(row);
    live_row_ = row;
    rotate_at_wall_ns_ = archive_->boundary_after(at_wall);
    ++counters_.rotations;
    log("rotated: " + old_path + " closed, recording goes on in " + next);
}

// The empty tape the closer made ahead, renamed to `next` (a link, so that a file there, which
// path_at has just ruled out, is never replaced); else open_file() makes it.
void RecordingSession::take_prepared(const std::string& next) {
    if (!closer_->take_prepared()) {
        return;
    }
    const std::string prepared = archive_->prepared_path();
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(next).parent_path(), ec);
    if (::link(prepared.c_str(), next.c_str()) != 0) {
        log("could not move the file made ahead into place (" + std::string(std::strerror(errno)) +
            "); making " + next);
    }
    ::unlink(prepared.c_str());
}

void RecordingSession::count_frame(const schema::Frame& f) {
    const std::int64_t wall = f.wall_ns;
    counters_.last_frame_wall_ns = wall;
    ++counters_.frames;
    if (f.columns.kind == schema::FrameKind::event) {
        ++counters_.event_frames;
        counters_.last_event_wall_ns = wall;
        // By the label as it came: naming it as --stream does waits for a scrape.
        const std::string_view label = f.columns.stream ? *f.columns.stream : sse_label_;
        ++tally_of(tally_of(event_tally_, label), f.columns.event.value_or(""));
    } else if (schema::is_heartbeat(f.columns.kind, f.bytes)) {
        ++counters_.heartbeats;
        counters_.last_heartbeat_wall_ns = wall;
    }
}

MetricsSnapshot RecordingSession::metrics() const {
    MetricsSnapshot m;
    m.counters = counters_;
    for (const auto& [label, events] : event_tally_) {
        const std::string stream = stream_name(label);
        for (const auto& [event, n] : events) {
            m.counters.events[{event, stream}] += n;
        }
    }
    m.state = to_string(state_);
    m.file = path_;
    m.queue_bytes = static_cast<std::int64_t>(writer_->queued_bytes());
    m.committed_bytes = committed_bytes_->load(std::memory_order_relaxed);
    m.file_bytes = writer_->file_bytes();
    m.disk_free_bytes = disk_free(path_);
    if (closer_) {
        const CloserCounts& c = closer_->counts();
        m.files_closed = c.closed;
        m.retention_deleted = c.retention_deleted;
        m.retention_deleted_bytes = c.retention_deleted_bytes;
        m.close_failures = c.failures;
    }
    m.stuck_after_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(connection_.heartbeat_timeout)
            .count() +
        static_cast<std::int64_t>(plan_.options.backoff_cap_s * 1e9);
    return m;
}

void RecordingSession::start_metrics() {
    const RecordOptions& o = plan_.options;
    if (o.metrics_host.empty()) {
        return;
    }
    metrics_server_ = std::make_unique<MetricsServer>(
        ioc_.get_executor(), o.metrics_host, o.metrics_port, [this](std::string_view path) {
            const std::int64_t now = wall_now_ns();
            if (path == "/metrics") {
                return MetricsAnswer{200, "text/plain; version=0.0.4; charset=utf-8",
                                     prometheus_text(metrics(), now)};
            }
            if (path == "/healthz") {
                const MetricsSnapshot m = metrics();
                return stuck(m, now)
                           ? MetricsAnswer{503, "text/plain; charset=utf-8",
                                           "stuck: no frame for longer than the heartbeat timeout "
                                           "plus the backoff cap (" +
                                               m.state + ")\n"}
                           : MetricsAnswer{200, "text/plain; charset=utf-8",
                                           "ok: " + m.state + "\n"};
            }
            return MetricsAnswer{404, "text/plain; charset=utf-8",
                                 "not found: the recorder serves /metrics and /healthz\n"};
        });
    metrics_server_->start();
    const std::string host =
        o.metrics_host.find(':') != std::string::npos ? "[" + o.metrics_host + "]" : o.metrics_host;
    log("metrics at http://" + host + ":" + std::to_string(metrics_server_->port()) +
            "/metrics (health at /healthz)",
        true);
}

}  // namespace mastotape::record
