#pragma once

// Mastodon's heartbeats, each written once (streaming/index.js; ../shared/mastodon-streaming.md):
// a WebSocket ping every 30 s, an SSE `:thump` comment every 15 s, and how long a client waits in
// silence before it gives a connection up (mastotape record's default --heartbeat-timeout).

#include <cstdint>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

inline constexpr std::int64_t kPingIntervalNs = 30'000'000'000;
inline constexpr std::int64_t kThumpIntervalNs = 15'000'000'000;

// Two and a half pings over WebSocket (75 s); over SSE 40 s, a little over two and a half thumps.
constexpr std::int64_t default_heartbeat_timeout_ns(Transport t) {
    return t == Transport::websocket ? 75'000'000'000 : 40'000'000'000;
}

}  // namespace mastotape::schema
