#pragma once

// Summary figures of one session, computed from the tape's indexes without loading its frames.

#include <cstdint>
#include <map>
#include <string>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

struct IntervalStats {
    std::int64_t count = 0;  // number of intervals
    double mean_ms = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
};

struct SessionStats {
    Session session;
    SessionState state = SessionState::ended;
    SessionCounts counts;
    std::int64_t duration_ns = 0;
    double events_per_second_mean = 0;
    std::int64_t events_peak_per_second = 0;
    std::int64_t peak_second = 0;       // second since start with the most events
    IntervalStats heartbeat_intervals;  // between heartbeats of one connection
    std::int64_t gap_total_ns = 0;
    std::int64_t gap_longest_ns = 0;
    std::map<std::string, std::int64_t> gaps_by_cause;
    std::int64_t backfill_already_streamed = 0;
    FrameStorage storage;
};

// `now_wall_ns` decides whether an open session is still recording or interrupted.
SessionStats compute_stats(TapeStore& store, std::int64_t session_id, std::int64_t now_wall_ns);

// Nearest-rank percentile of sorted values; 0 for none.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace mastotape::schema
