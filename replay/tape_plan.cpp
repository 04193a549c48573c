#include "replay/tape_plan.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "schema/tape/tape_verifier.hpp"

namespace mastotape::replay {
namespace {

// Refuses a tape whose times are out of a tape's range (a damaged or forged tape): the replayer's
// schedule is computed from them.
void check_offsets(schema::TapeStore& store, std::int64_t session_id, const TapePlan& plan,
                   std::int64_t last_frame_offset) {
    std::vector<std::pair<std::string, std::int64_t>> times{{"its last frame", last_frame_offset}};
    if (plan.session.ended_offset_ns) {
        times.emplace_back("its end", *plan.session.ended_offset_ns);
    }
    for (const auto& p : plan.connections) {
        const std::string name = "connection " + std::to_string(p.recorded.idx);
        times.emplace_back(name + "'s handshake", p.up_offset_ns);
        times.emplace_back(name + "'s end", p.end_offset_ns);
    }
    for (const auto& [what, offset] : times) {
        if (!schema::offset_in_range(offset)) {
            throw schema::TapeError(store.path() + ": session " + std::to_string(session_id) +
                                    ": " + what + " is at offset " + std::to_string(offset) +
                                    " ns, outside what a tape can hold; `mastotape verify` "
                                    "lists the damage");
        }
    }
}

}  // namespace

TapePlan make_plan(schema::TapeStore& store, std::int64_t session_id) {
    TapePlan plan;
    plan.session = store.session(session_id);
    const auto counts = store.counts(session_id);
    std::vector<schema::Connection> failed;
    // Per gap's end (the next connection's handshake), where its backfill had fetched.
    std::map<std::int64_t, std::int64_t> fetched_by_end;
    const auto fetched = store.backfill_fetch_ends(session_id);
    for (const auto& g : store.gaps(session_id)) {
        const auto last = fetched.find(g.idx);
        if (g.end_offset_ns && last != fetched.end()) {
            fetched_by_end[*g.end_offset_ns] = last->second;
        }
    }
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
        const auto gap = fetched_by_end.find(p.up_offset_ns);
        p.rest_at_ns =
            gap == fetched_by_end.end() ? p.up_offset_ns : std::max(p.up_offset_ns, gap->second);
        p.failed_before = std::move(failed);
        failed.clear();
        schema::Frame f;
        auto cursor = store.frames_from_offset(session_id, c.started_offset_ns);
        p.first_seq = cursor.next(f) ? f.seq : std::numeric_limits<std::int64_t>::max();
        plan.connections.push_back(std::move(p));
    }
    check_offsets(store, session_id, plan, counts.last_offset_ns);
    if (plan.connections.empty()) {
        throw schema::TapeError(store.path() + ": session " + std::to_string(session_id) +
                                " has no established connection to replay");
    }
    plan.end_offset_ns = plan.session.ended_offset_ns.value_or(
        std::max(counts.last_offset_ns, plan.connections.back().end_offset_ns));
    return plan;
}

bool TapePlan::ends_with_tape(std::size_t k) const {
    const schema::EndCause cause = connections[k].recorded.end_cause;
    return k + 1 == connections.size() &&
           (cause == schema::EndCause::local_stop || cause == schema::EndCause::none ||
            cause == schema::EndCause::interrupted || cause == schema::EndCause::rotated);
}

std::int64_t TapePlan::end_of(std::size_t k) const {
    return ends_with_tape(k) ? end_offset_ns : connections[k].end_offset_ns;
}

}  // namespace mastotape::replay
