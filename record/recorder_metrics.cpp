#include "record/recorder_metrics.hpp"

#include <cstdio>

namespace mastotape::record {
namespace {

// A label value as the exposition format escapes it.
std::string label_value(const std::string& v) {
    std::string out;
    for (const char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

class Exposition {
   public:
    void family(const char* name, const char* type, const char* help) {
        out_ += std::string("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n';
    }
    void sample(const char* name, double value, const std::string& labels = "") {
        char number[64];
        std::snprintf(number, sizeof number, "%.17g", value);
        out_ += name;
        if (!labels.empty()) {
            out_ += '{' + labels + '}';
        }
        out_ += ' ';
        out_ += number;
        out_ += '\n';
    }
    void one(const char* name, const char* type, const char* help, double value) {
        family(name, type, help);
        sample(name, value);
    }
    std::string take() { return std::move(out_); }

   private:
    std::string out_;
};

double seconds_since(std::int64_t then_ns, std::int64_t fallback_ns, std::int64_t now_ns) {
    const std::int64_t from = then_ns != 0 ? then_ns : fallback_ns;
    return static_cast<double>(now_ns - from) / 1e9;
}

}  // namespace

std::string prometheus_text(const MetricsSnapshot& m, std::int64_t now_wall_ns) {
    const RecorderCounters& c = m.counters;
    Exposition e;
    e.family("mastotape_record_events_total", "counter",
             "Event frames recorded, by event and stream.");
    for (const auto& [key, n] : c.events) {
        e.sample(
            "mastotape_record_events_total", static_cast<double>(n),
            "event=\"" + label_value(key.first) + "\",stream=\"" + label_value(key.second) + '"');
    }
    e.one("mastotape_record_frames_total", "counter", "Frames recorded, of every kind.",
          static_cast<double>(c.frames));
    e.one("mastotape_record_heartbeats_total", "counter",
          "Heartbeats recorded (WebSocket pings, SSE comments).",
          static_cast<double>(c.heartbeats));
    e.one("mastotape_record_connections_total", "counter", "Connections established.",
          static_cast<double>(c.connections));
    e.family("mastotape_record_reconnects_total", "counter",
             "Established connections that ended and were followed by a reconnect, by end cause.");
    for (const auto& [cause, n] : c.connection_ends) {
        e.sample("mastotape_record_reconnects_total", static_cast<double>(n),
                 "cause=\"" + label_value(cause) + '"');
    }
    e.one("mastotape_record_gaps_total", "counter", "Disconnected gaps.",
          static_cast<double>(c.gaps));
    e.one("mastotape_record_backfilled_items_total", "counter",
          "Items fetched over REST after gaps.", static_cast<double>(c.backfilled));
    e.one("mastotape_record_backfill_limited_gaps_total", "counter",
          "Gaps whose backfill stopped at --backfill-limit with items left behind.",
          static_cast<double>(c.backfill_limited));
    e.one("mastotape_record_seconds_since_last_event", "gauge",
          "Seconds since the last event frame (since the start before the first).",
          seconds_since(c.last_event_wall_ns, c.started_wall_ns, now_wall_ns));
    e.one("mastotape_record_seconds_since_last_heartbeat", "gauge",
          "Seconds since the last heartbeat (since the start before the first).",
          seconds_since(c.last_heartbeat_wall_ns, c.started_wall_ns, now_wall_ns));
    e.one("mastotape_record_seconds_since_last_frame", "gauge",
          "Seconds since the last frame of any kind (since the start before the first).",
          seconds_since(c.last_frame_wall_ns, c.started_wall_ns, now_wall_ns));
    e.family("mastotape_record_connected", "gauge",
             "1 while a connection is up; the state label says what the recorder is doing.");
    e.sample("mastotape_record_connected", m.state == "connected" ? 1 : 0,
             "state=\"" + label_value(m.state) + '"');
    e.one("mastotape_record_writer_queue_bytes", "gauge",
          "Bytes of records queued for the disk writer.", static_cast<double>(m.queue_bytes));
    e.one("mastotape_record_written_bytes_total", "counter",
          "Bytes of frames and backfilled bodies committed to tapes.",
          static_cast<double>(m.committed_bytes));
    e.one("mastotape_record_file_bytes", "gauge",
          "Size of the tape being written, with its WAL, after the last commit.",
          static_cast<double>(m.file_bytes));
    e.one("mastotape_record_disk_free_bytes", "gauge",
          "Bytes free for the recorder on the tape's filesystem (-1: unknown).",
          static_cast<double>(m.disk_free_bytes));
    e.family("mastotape_record_file_info", "gauge", "The tape being written (always 1).");
    e.sample("mastotape_record_file_info", 1, "file=\"" + label_value(m.file) + '"');
    e.one("mastotape_record_rotations_total", "counter", "Files rotated (--rotate).",
          static_cast<double>(c.rotations));
    e.one("mastotape_record_files_closed_total", "counter",
          "Rotated files closed (their sessions ended; each then compacted and made read-only).",
          static_cast<double>(m.files_closed));
    e.one("mastotape_record_close_failures_total", "counter",
          "Files that could not be closed, compacted or deleted as retention asked.",
          static_cast<double>(m.close_failures));
    e.one("mastotape_record_retention_deleted_files_total", "counter",
          "Closed files deleted by --retain or --retain-bytes.",
          static_cast<double>(m.retention_deleted));
    e.one("mastotape_record_retention_deleted_bytes_total", "counter",
          "Bytes of closed files deleted by retention.",
          static_cast<double>(m.retention_deleted_bytes));
    e.one("mastotape_record_healthy", "gauge", "1 unless the recorder is stuck (see /healthz).",
          stuck(m, now_wall_ns) ? 0 : 1);
    return e.take();
}

bool stuck(const MetricsSnapshot& m, std::int64_t now_wall_ns) {
    const RecorderCounters& c = m.counters;
    const std::int64_t last = c.last_frame_wall_ns != 0 ? c.last_frame_wall_ns : c.started_wall_ns;
    return now_wall_ns - last > m.stuck_after_ns;
}

}  // namespace mastotape::record
