#include "replay/tape_plan.hpp"

#include <algorithm>
#include <limits>

namespace mastotape::replay {

TapePlan make_plan(schema::TapeStore& store, std::int64_t session_id) {
    TapePlan plan;
    plan.session = store.session(session_id);
    const auto counts = store.counts(session_id);
    std::vector<schema::Connection> failed;
    const auto gaps = store.gaps(session_id);
    const auto fetched = store.backfill_fetch_ends(session_id);
    for (const auto& c : store.connections(session_id)) {
        if (!c.handshake_offset_ns) {
            failed.push_back(c);
            continue;
        }
        PlannedConnection p;
        p.recorded = c;
        p.up_offset_ns = *c.handshake_offset_ns;
        p.end_offset_ns = c.ended_offset_ns.value_or(
            plan.session.ended_offset_ns.value_or(counts.last_offset_ns));
        p.rest_at_ns = p.up_offset_ns;
        for (const auto& g : gaps) {
            const auto last = fetched.find(g.idx);
            if (g.end_offset_ns == p.up_offset_ns && last != fetched.end()) {
                p.rest_at_ns = std::max(p.rest_at_ns, last->second);
            }
        }
        p.failed_before = std::move(failed);
        failed.clear();
        schema::Frame f;
        auto cursor = store.frames_from_offset(session_id, c.started_offset_ns);
        p.first_seq = cursor.next(f) ? f.seq : std::numeric_limits<std::int64_t>::max();
        plan.connections.push_back(std::move(p));
    }
    if (plan.connections.empty()) {
        throw schema::TapeError(store.path() + ": session " + std::to_string(session_id) +
                                " has no established connection to replay");
    }
    plan.end_offset_ns = plan.session.ended_offset_ns.value_or(
        std::max(counts.last_offset_ns, plan.connections.back().end_offset_ns));
    return plan;
}

}  // namespace mastotape::replay
