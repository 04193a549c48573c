#pragma once

// `mastotape compact`: every session of a tape copied into another (a new file) record for
// record, with the same session ids, frames stored as the target's compression says (each
// session's own dictionary trained on its first frames). Memory stays flat: frames go across in
// batches.

#include <cstdint>
#include <functional>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

struct CompactProgress {
    std::int64_t session_id = 0;
    std::int64_t frames_done = 0;   // of this session
    std::int64_t frames_total = 0;  // of this session
};

struct CompactSummary {
    std::int64_t sessions = 0;
    std::int64_t frames = 0;
    std::int64_t backfilled = 0;
};

// Copies every session of `from` into `to` (which has none with the same ids: a new tape), each
// as it is recorded. Reading a damaged frame throws DamagedBytes; a session whose copy does not
// count the same as its source throws TapeError. `progress` (optional) is called after each batch.
CompactSummary compact_tape(TapeStore& from, TapeStore& to,
                            const std::function<void(const CompactProgress&)>& progress = nullptr);

}  // namespace mastotape::schema
