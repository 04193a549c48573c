#pragma once

// What a recording is asked to do and how it went: the record library's inputs and result,
// without the library. tools/ fills RecordOptions from the command line and maps a RecordResult
// to the process's exit code.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "record/archive_files.hpp"
#include "schema/tape/model.hpp"
#include "schema/tape/zstd_codec.hpp"

namespace mastotape::record {

struct RecordOptions {
    std::string target;  // instance (host or https URL) or streaming URL (ws://, wss://)
    std::vector<schema::Subscription> subscriptions{{"user", ""}};
    schema::Transport transport = schema::Transport::websocket;
    std::string db;  // a path, or with rotation a pattern with strftime fields (ArchiveFiles)
    RotationPolicy rotation;
    RetentionPolicy retention;
    // Called off the network thread for each file a rotating recording has closed (and its last
    // one when it stops), after its session has ended: compacts it and makes it read-only.
    // Returns what it did for the log; throws what went wrong, and the file is then kept as
    // recorded. Empty: files stay as written.
    std::function<std::string(const std::string& path)> finish_file;
    std::string metrics_host;  // --metrics: serve /metrics and /healthz there when not empty
    std::string label;
    std::string token;  // never logged, stored or printed
    schema::TokenIn token_in = schema::TokenIn::header;
    std::string cacert;              // extra trusted CA (PEM); verification is never off
    double heartbeat_timeout_s = 0;  // 0: 75 s for WebSocket, 40 s for SSE
    double backoff_start_s = 1;
    double backoff_cap_s = 60;
    std::uint64_t seed = 0;  // 0: random jitter
    // Reconnects in a row without a healthy connection before giving up; -1: never.
    std::int64_t max_reconnects = -1;
    double duration_s = 0;        // 0: until stopped
    std::int64_t max_events = 0;  // 0: unlimited
    std::size_t max_frame = std::size_t{16} * 1024 * 1024;
    double handshake_timeout_s = 30;
    std::int64_t batch_interval_ms = 250;
    std::size_t batch_records = 1000;
    std::size_t write_buffer_bytes =
        std::size_t{16} * 1024 * 1024;  // frames held for the writer, at most
    schema::Compression compression;    // how frames are stored; compressed on the writer thread
    bool sync_full = false;
    bool quiet = false;
    bool json_log = false;
    bool backfill = true;                // fetch what each gap missed over REST
    std::uint16_t metrics_port = 0;      // with metrics_host
    std::int64_t backfill_limit = 400;   // items per gap
    double rate_limit_wait_cap_s = 300;  // longest wait for a rate-limit reset
    std::string rest_base;  // REST origin; default: the instance, else the streaming host
    bool discover = true;   // for an instance target, read its streaming URL
    // Stream from a cleartext URL that an instance reached over TLS names (refused otherwise).
    bool allow_insecure_streaming = false;
};

// How a recording went, for its caller to act on.
enum class RecordOutcome {
    finished,       // stopped, --duration or --max-events: everything asked for was done
    failed,         // it could not go on: the server refused the streams, the instance could not
                    // be read, reconnects ran out, or the disk failed
    token_refused,  // the server refused the access token (HTTP 401)
};

struct RecordResult {
    RecordOutcome outcome = RecordOutcome::finished;
    schema::SessionEnd end = schema::SessionEnd::stopped;  // as the session row says
    std::string detail;                                    // why, when it failed (never the token)
};

}  // namespace mastotape::record
