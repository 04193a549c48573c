#include "schema/ops/session_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "schema/tape/recorder_lock.hpp"

namespace mastotape::schema {

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

SessionStats compute_stats(TapeStore& store, std::int64_t session_id, std::int64_t now_wall_ns) {
    SessionStats st;
    st.session = store.session(session_id);
    st.state = live_state(store.path(), st.session, now_wall_ns);
    st.counts = store.counts(session_id);
    st.storage = store.frame_storage(session_id);
    st.duration_ns = st.session.ended_offset_ns.value_or(st.counts.last_offset_ns);
    if (st.duration_ns > 0) {
        st.events_per_second_mean =
            static_cast<double>(st.counts.events) / (static_cast<double>(st.duration_ns) / 1e9);
    }
    const auto [second, peak] = store.peak_event_second(session_id);
    st.peak_second = second;
    st.events_peak_per_second = peak;

    std::vector<double> intervals;
    const auto beats = store.heartbeats(session_id);
    for (std::size_t i = 1; i < beats.size(); ++i) {
        if (beats[i].first == beats[i - 1].first) {
            intervals.push_back(static_cast<double>(beats[i].second - beats[i - 1].second) / 1e6);
        }
    }
    std::sort(intervals.begin(), intervals.end());
    st.heartbeat_intervals.count = static_cast<std::int64_t>(intervals.size());
    if (!intervals.empty()) {
        st.heartbeat_intervals.mean_ms = std::accumulate(intervals.begin(), intervals.end(), 0.0) /
                                         static_cast<double>(intervals.size());
        st.heartbeat_intervals.p50_ms = percentile(intervals, 50);
        st.heartbeat_intervals.p99_ms = percentile(intervals, 99);
        st.heartbeat_intervals.max_ms = intervals.back();
    }

    for (const auto& g : store.gaps(session_id)) {
        const std::int64_t end = g.end_offset_ns.value_or(st.duration_ns);
        const std::int64_t len = std::max<std::int64_t>(0, end - g.start_offset_ns);
        st.gap_total_ns += len;
        st.gap_longest_ns = std::max(st.gap_longest_ns, len);
        ++st.gaps_by_cause[std::string(to_string(g.cause))];
    }
    for (const auto& b : store.backfill(session_id)) {
        st.backfill_already_streamed += b.already_streamed ? 1 : 0;
    }
    return st;
}

}  // namespace mastotape::schema
