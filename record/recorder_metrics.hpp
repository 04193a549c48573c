#pragma once

// What a recorder tells its monitoring (--metrics): counters the session keeps on the network
// thread, a snapshot of them with what other threads know (the writer's queue, the disk, the
// file closer), the Prometheus text exposition of a snapshot, and whether the recorder is stuck
// (/healthz).

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace mastotape::record {

// Kept by the session, on the network thread only.
struct RecorderCounters {
    // (event, stream as --stream names it); the session fills it when it takes a snapshot.
    std::map<std::pair<std::string, std::string>, std::int64_t> events;
    std::int64_t event_frames = 0;  // all of them
    std::int64_t heartbeats = 0;
    std::int64_t frames = 0;
    std::int64_t connections = 0;                         // established
    std::map<std::string, std::int64_t> connection_ends;  // established ones, by end cause
    std::int64_t gaps = 0;
    std::int64_t backfilled = 0;
    std::int64_t backfill_limited = 0;  // gaps whose backfill stopped at --backfill-limit
    std::int64_t rotations = 0;
    std::int64_t started_wall_ns = 0;
    std::int64_t last_frame_wall_ns = 0;  // 0: none yet
    std::int64_t last_event_wall_ns = 0;
    std::int64_t last_heartbeat_wall_ns = 0;
};

struct MetricsSnapshot {
    RecorderCounters counters;
    std::string state;  // the status line's: connecting, connected, backoff, ...
    std::string file;   // the file being written
    std::int64_t queue_bytes = 0;
    std::int64_t committed_bytes = 0;  // frames and backfilled bodies, all files
    std::int64_t file_bytes = 0;       // the file being written, with its WAL
    std::int64_t disk_free_bytes = -1;
    std::int64_t files_closed = 0;
    std::int64_t retention_deleted = 0;
    std::int64_t retention_deleted_bytes = 0;
    std::int64_t close_failures = 0;
    // A recorder that has seen no frame for this long is stuck: the watchdog plus the backoff cap.
    std::int64_t stuck_after_ns = 0;
};

// Prometheus text format (version 0.0.4), every family with HELP and TYPE.
std::string prometheus_text(const MetricsSnapshot& m, std::int64_t now_wall_ns);

// Whether the recorder is stuck: no frame (or, before the first, no start) for longer than
// `stuck_after_ns`. Connected and receiving, or backing off within its cap, is healthy.
bool stuck(const MetricsSnapshot& m, std::int64_t now_wall_ns);

}  // namespace mastotape::record
