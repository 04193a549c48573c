#pragma once

// Records a live Mastodon streaming connection into a tape: every frame with its exact bytes and
// timestamps, every connection attempt and how it ended, every gap and what its backfill
// recovered, and what it sent itself. It reconnects with exponential backoff and full jitter, and
// a watchdog ends silent connections. The network runs on one thread (coroutines), backfill on a
// second, the disk on the TapeWriter's. The pieces: session (the loop of connections and gaps),
// ws_connection and sse_connection, watchdog, backoff, discovery, backfill, tape_writer.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "record/stream_connection.hpp"
#include "schema/tape/model.hpp"
#include "schema/tape/zstd_codec.hpp"

namespace mastotape::record {

struct RecordOptions {
    std::string target;  // instance (host or https URL) or streaming URL (ws://, wss://)
    std::vector<schema::Subscription> subscriptions{{"user", ""}};
    schema::Transport transport = schema::Transport::websocket;
    std::string db;
    std::string label;
    std::string token;  // never logged, stored or printed
    TokenIn token_in = TokenIn::header;
    std::string cacert;              // extra trusted CA (PEM); verification is never off
    double heartbeat_timeout_s = 0;  // 0: 75 s for WebSocket, 40 s for SSE
    double backoff_start_s = 1;
    double backoff_cap_s = 60;
    std::uint64_t seed = 0;            // 0: random jitter
    // Reconnects in a row without a healthy connection before giving up; -1: never.
    std::int64_t max_reconnects = -1;
    double duration_s = 0;             // 0: until stopped
    std::int64_t max_events = 0;       // 0: unlimited
    std::size_t max_frame = 16 * 1024 * 1024;
    double handshake_timeout_s = 30;
    std::int64_t batch_interval_ms = 250;
    std::size_t batch_records = 1000;
    std::size_t write_buffer_bytes = 16 * 1024 * 1024;  // frames held for the writer, at most
    bool sync_full = false;
    schema::Compression compression;  // how frames are stored; compressed on the writer thread
    bool quiet = false;
    bool json_log = false;
    bool backfill = true;                // fetch what each gap missed over REST
    std::int64_t backfill_limit = 400;   // items per gap
    double rate_limit_wait_cap_s = 300;  // longest wait for a rate-limit reset
    std::string rest_base;  // REST origin; default: the instance, else the streaming host
    bool discover = true;   // for an instance target, read its streaming URL
    // Stream from a cleartext URL that an instance reached over TLS names (refused otherwise).
    bool allow_insecure_streaming = false;
};

class Recorder {
   public:
    // Opens (or creates) the tape and starts a session; throws TapeError or std::invalid_argument.
    explicit Recorder(RecordOptions options);
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    std::int64_t session_id() const;
    // Records until stopped (SIGINT/SIGTERM, --duration, --max-events, an authentication refusal
    // or --max-reconnects). Returns the exit code: 0, 1 (storage failure or gave up reconnecting),
    // 3 (token refused).
    int run();
    // Thread-safe: ends the recording as a first Ctrl-C does, but lets a backfill in flight
    // finish.
    void stop();

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape::record
