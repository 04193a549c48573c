#include "schema/tape/timeline.hpp"

#include <algorithm>
#include <tuple>

namespace mastotape::schema {

void walk_timeline(TapeStore& store, std::int64_t session_id,
                   const std::function<bool(const TimelineEntry&)>& visit) {
    const auto connections = store.connections(session_id);
    const auto gaps = store.gaps(session_id);
    const auto messages = store.client_messages(session_id);
    const auto backfill = store.backfill(session_id);

    using Key = std::tuple<std::int64_t, int, std::int64_t>;
    std::vector<std::pair<Key, TimelineEntry>> others;
    auto add = [&](std::int64_t offset, TimelineKind kind, std::int64_t number, TimelineEntry e) {
        e.kind = kind;
        e.offset_ns = offset;
        others.push_back({{offset, static_cast<int>(kind), number}, e});
    };
    for (const auto& c : connections) {
        add(c.started_offset_ns, TimelineKind::connection_opened, c.idx,
            TimelineEntry{.connection = &c});
        if (c.ended_offset_ns) {
            add(*c.ended_offset_ns, TimelineKind::connection_ended, c.idx,
                TimelineEntry{.connection = &c});
        }
    }
    for (const auto& g : gaps) {
        add(g.start_offset_ns, TimelineKind::gap_started, g.idx, TimelineEntry{.gap = &g});
        if (g.end_offset_ns) {
            add(*g.end_offset_ns, TimelineKind::gap_ended, g.idx, TimelineEntry{.gap = &g});
        }
    }
    for (const auto& m : messages) {
        add(m.offset_ns, TimelineKind::client_message, m.seq, TimelineEntry{.client_message = &m});
    }
    for (const auto& b : backfill) {
        add(b.offset_ns, TimelineKind::backfill, b.seq, TimelineEntry{.backfill = &b});
    }
    std::stable_sort(others.begin(), others.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });

    auto cursor = store.frames_from_seq(session_id, 1);
    Frame f;
    bool have_frame = cursor.next(f);
    std::size_t next_other = 0;
    while (have_frame || next_other < others.size()) {
        const bool take_frame =
            have_frame &&
            (next_other == others.size() || Key{f.offset_ns, static_cast<int>(TimelineKind::frame),
                                                f.seq} < others[next_other].first);
        if (take_frame) {
            TimelineEntry e;
            e.kind = TimelineKind::frame;
            e.offset_ns = f.offset_ns;
            e.frame = &f;
            if (!visit(e)) {
                return;
            }
            have_frame = cursor.next(f);
        } else {
            if (!visit(others[next_other].second)) {
                return;
            }
            ++next_other;
        }
    }
}

}  // namespace mastotape::schema
