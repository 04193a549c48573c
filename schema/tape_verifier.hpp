#pragma once

// Checks a tape: SQLite integrity, gapless seqs, monotonic offsets, connections and gaps that
// agree with each other and with the frames, and frame columns that re-derive from the bytes.
// `repair` closes interrupted sessions at their last record; nothing else is ever changed.

#include <cstdint>
#include <string>
#include <vector>

#include "schema/tape_store.hpp"

namespace mastotape::schema {

struct VerifyReport {
    std::vector<std::string> problems;  // one line each, naming the session and record
    std::vector<std::string> repairs;   // what --repair changed
    std::int64_t sessions = 0;
    std::int64_t frames = 0;
    bool clean() const { return problems.empty(); }
};

// Checks every session. With `repair`, interrupted sessions are closed (and no longer reported).
VerifyReport verify_tape(TapeStore& store, bool repair, std::int64_t now_wall_ns);

}  // namespace mastotape::schema
