#pragma once

// Checks a tape: SQLite integrity, gapless seqs, monotonic offsets, connections and gaps that
// agree with each other and with the frames, and frame columns that re-derive from the bytes.
// `repair` closes interrupted sessions at their last record; nothing else is ever changed.

#include <cstdint>
#include <string>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// The latest offset a tape may hold: a hundred years of recording. Anything later is a damaged or
// forged record (an offset at INT64_MAX once made the replayer spin); twice this still fits an
// int64, so sums of two offsets cannot overflow.
constexpr std::int64_t kMaxOffsetNs = 100LL * 366 * 24 * 3600 * 1'000'000'000;

// Whether `offset` is a time a tape can hold.
constexpr bool offset_in_range(std::int64_t offset) {
    return offset >= 0 && offset <= kMaxOffsetNs;
}

// The record a problem is about, so that `import` can name the line it came from.
struct RecordRef {
    enum class Kind { session, connection, frame, gap, client_message, backfill };
    Kind kind = Kind::session;
    std::int64_t number = 0;  // idx (connection, gap) or seq (the others)
};

struct SessionProblem {
    RecordRef about;
    std::string text;
};

// Checks one session's records against each other and against the bounds of a tape; at most 50
// problems, then one that says more were not shown.
std::vector<SessionProblem> check_session(TapeStore& store, const Session& s);

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
