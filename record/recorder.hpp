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

#include "record/record_options.hpp"

namespace mastotape::record {

class Recorder {
   public:
    // Opens (or creates) the tape and starts a session; throws TapeError or std::invalid_argument.
    explicit Recorder(RecordOptions options);
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    std::int64_t session_id() const;
    // The tape being written (with --rotate, the file the pattern named for now).
    const std::string& path() const;
    // Records until stopped (SIGINT/SIGTERM, --duration, --max-events, an authentication refusal
    // or --max-reconnects), and says how it went.
    RecordResult run();
    // Thread-safe: ends the recording as a first Ctrl-C does, but lets a backfill in flight
    // finish.
    void stop();

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape::record
