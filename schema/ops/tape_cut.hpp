#pragma once

// `mastotape cut`: a slice of a session as a JSONL tape (what import reads into a new session),
// streamed from the store with flat memory. Offsets are rebased to the slice's start (wall times
// stay what they were); a connection open at the slice's start starts there as if it had opened
// then (its handshake kept, with the subscribe messages it depends on), and one still open at its
// end ends there as a local stop; a gap the slice touches is kept whole, with its failed attempts
// and backfill; frames, client messages, gaps and backfill are renumbered.

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

struct CutSpec {
    // One of: a time range (offsets from the session's start), a frame range, or a gap.
    std::optional<std::int64_t> from_ns, to_ns;
    std::optional<std::int64_t> from_seq, to_seq;
    std::optional<std::int64_t> around_gap;   // the gap's idx, as `show` numbers them
    std::int64_t before_ns = 30'000'000'000;  // with around_gap: stream kept before it
    std::int64_t after_ns = 30'000'000'000;   // and after it
    // Event frames kept: of these events (empty: all), on these streams (empty: all). Frames
    // that are not events (heartbeats, errors) are kept.
    std::vector<std::string> events;
    std::vector<std::string> streams;
};

// What a cut kept, for its summary line.
struct CutSummary {
    std::int64_t from_ns = 0, to_ns = 0;  // the slice, as offsets of the original session
    std::int64_t frames = 0, connections = 0, gaps = 0, backfilled = 0;
};

// Writes the slice of `session_id` that `spec` names to `out` as a JSONL tape. Throws TapeError
// with a one-line reason for a slice that names nothing (no such gap, an empty range).
// `progress` (optional) is called with the frames read so far, every 65,536.
CutSummary cut_session(TapeStore& store, std::int64_t session_id, const CutSpec& spec,
                       std::ostream& out,
                       const std::function<void(std::int64_t)>& progress = nullptr);

}  // namespace mastotape::schema
