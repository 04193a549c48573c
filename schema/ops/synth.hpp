#pragma once

// Writes realistic sessions deterministically from a seed: entities shaped like Mastodon's
// (mastodon-streaming.md section 11) in correctly double-encoded envelopes with correct stream
// labels, pings every 30 s (SSE: `:)` then `:thump` every 15 s), connections ended by the given
// causes, gaps with failed attempts and backfilled items. The same options give the same tape.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "schema/mastodon/heartbeats.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

struct SynthOptions {
    std::uint64_t seed = 1;
    Transport transport = Transport::websocket;
    std::vector<Subscription> subscriptions{{"user", ""}};
    std::int64_t events = 1000;  // events delivered on the stream (backfilled items come extra)
    double rate = 10.0;          // mean events per second
    // How each connection but the last ends; each one makes a gap. Causes: eof, reset, close,
    // close-no-code, heartbeat-timeout, tls-error, network-error.
    std::vector<std::string> connection_ends;
    std::int64_t failed_attempts = 1;  // failed handshakes inside each gap
    std::int64_t missed_per_gap = 3;   // events published during a gap, recovered by backfill
    bool backfill = true;
    bool error_frame = false;  // subscribe to an unknown stream once, getting its error frame
    // Event names to draw from (must suit the streams); empty means the streams' usual mix.
    std::vector<std::string> event_mix;
    std::string label;
    std::string host = "example.social";
    std::int64_t start_wall_ns = 1'787'313'600'000'000'000;  // 2026-08-21T12:00:00Z
    std::int64_t heartbeat_timeout_ns = default_heartbeat_timeout_ns(Transport::websocket);
};

// The connection ends synth can make (--connection-ends).
std::span<const EndCause> synth_connection_ends();

// Writes one session into `store` and returns its id. Throws std::invalid_argument for options
// that cannot make a session (unknown cause, event not delivered on any of the streams, ...).
// `progress` (optional) is called with the events written so far, every 65,536 events.
std::int64_t synthesize(TapeStore& store, const SynthOptions& options,
                        const std::function<void(std::int64_t)>& progress = nullptr);

}  // namespace mastotape::schema
