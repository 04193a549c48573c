#pragma once

// Compares two sessions the way `mastotape diff` does: frames byte for byte and kind for kind in
// order, which established connection each frame arrived on and how each connection ended, gaps
// and their causes, backfilled item ids, client messages, and each frame's time relative to its
// connection's handshake within a tolerance. Frames stream from both stores, so memory stays flat.
//
// Established connections are paired one to one in order. Failed attempts inside a gap depend on
// the client's backoff, so they are compared only with `strict_attempts`.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// What `ignore` may name.
inline const std::set<std::string>& diff_aspects() {
    static const std::set<std::string> kAspects{"timing", "backfill", "heartbeats",
                                                "client", "ends",     "gaps"};
    return kAspects;
}

struct DiffOptions {
    std::int64_t tolerance_ns = 5'000'000;  // per frame, in B's time
    double time_scale = 1.0;                // B was made at this speed: A's times are divided by it
    bool strict_attempts = false;
    std::set<std::string> ignore;  // aspects of diff_aspects()
    std::size_t max_reported = 10;
};

struct DiffResult {
    std::vector<std::string> reported;              // the first differences, one line each
    std::int64_t differences = 0;                   // all of them
    std::map<std::string, std::int64_t> by_aspect;  // frames, timing, connections, gaps, ...
    std::int64_t connections = 0;                   // established, paired
    std::int64_t frames = 0;                        // compared
    std::int64_t gaps = 0;
    std::int64_t backfilled = 0;
    std::int64_t worst_lateness_ns = 0;  // largest |B - A| frame time difference seen

    bool equal() const { return differences == 0; }
    // "equal: ..." or "different: ..." on one line.
    std::string summary(const DiffOptions& o) const;
};

DiffResult diff_sessions(TapeStore& a, std::int64_t a_id, TapeStore& b, std::int64_t b_id,
                         const DiffOptions& options);

}  // namespace mastotape::schema
