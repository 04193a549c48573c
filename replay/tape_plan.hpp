#pragma once

// What a replay plays: a session's established connections in order, each with the frames it
// carried, how it ended, and the failed attempts recorded in the gap before it. Read once from the
// tape's small tables; frames themselves stay in the tape and stream through cursors.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

struct PlannedConnection {
    schema::Connection recorded;
    std::int64_t up_offset_ns = 0;   // tape time the handshake finished
    std::int64_t end_offset_ns = 0;  // tape time it ended
    std::int64_t first_seq = 1;      // first frame at or after up_offset_ns
    // Where REST stands once this connection is up (at --max-speed and at a real-time clock): its
    // handshake, or after a gap the time by which the recording's backfill had fetched its last
    // item.
    std::int64_t rest_at_ns = 0;
    // Attempts that failed in the gap before this connection, in order.
    std::vector<schema::Connection> failed_before;
};

struct TapePlan {
    schema::Session session;
    std::vector<PlannedConnection> connections;
    std::int64_t end_offset_ns = 0;

    // Whether connection `k` ends with the tape (the last one, which the recording's stop, or its
    // crash, ended) rather than as it was recorded to end.
    bool ends_with_tape(std::size_t k) const;
    // The tape time the replay ends connection `k`: its recorded end, or the tape's.
    std::int64_t end_of(std::size_t k) const;
};

// Throws TapeError when the session has no established connection to play.
TapePlan make_plan(schema::TapeStore& store, std::int64_t session_id);

}  // namespace mastotape::replay
