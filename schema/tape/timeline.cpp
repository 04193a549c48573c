#include "schema/tape/timeline.hpp"

#include <algorithm>
#include <tuple>

namespace mastotape::schema {

void walk_timeline(TapeStore& store, std::int64_t session_id,
                   const std::function<bool(const TimelineEntry&)>& visit) {
    auto connections = store.connections(session_id);
    auto gaps = store.gaps(session_id);
    auto messages = store.client_messages(session_id);
    auto backfill = store.backfill(session_id);

    using Key = std::tuple<std::int64_t, int, std::int64_t>;
    std::vector<std::pair<Key, TimelineEntry>> others;
    auto add = [&](std::int64_t offset, TimelineKind kind, std::int64_t number, Record r) {
        others.push_back(
            {{offset, static_cast<int>(kind), number},
             TimelineEntry{.kind = kind, .offset_ns = offset, .record = std::move(r)}});
    };
    for (auto& c : connections) {
        if (c.ended_offset_ns) {
            add(*c.ended_offset_ns, TimelineKind::connection_ended, c.idx, c);
        }
        const std::int64_t at = c.started_offset_ns;
        const std::int64_t idx = c.idx;
        add(at, TimelineKind::connection_opened, idx, std::move(c));
    }
    for (auto& g : gaps) {
        if (g.end_offset_ns) {
            add(*g.end_offset_ns, TimelineKind::gap_ended, g.idx, g);
        }
        const std::int64_t at = g.start_offset_ns;
        const std::int64_t idx = g.idx;
        add(at, TimelineKind::gap_started, idx, std::move(g));
    }
    for (auto& m : messages) {
        const std::int64_t at = m.offset_ns;
        const std::int64_t seq = m.seq;
        add(at, TimelineKind::client_message, seq, std::move(m));
    }
    for (auto& b : backfill) {
        const std::int64_t at = b.offset_ns;
        const std::int64_t seq = b.seq;
        add(at, TimelineKind::backfill, seq, std::move(b));
    }
    std::stable_sort(others.begin(), others.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });

    auto cursor = store.frames_from_seq(session_id, 1);
    TimelineEntry frame{.kind = TimelineKind::frame, .record = Frame{}};
    Frame& f = std::get<Frame>(frame.record);  // each frame read into the one entry
    bool have_frame = cursor.next(f);
    std::size_t next_other = 0;
    while (have_frame || next_other < others.size()) {
        const bool take_frame =
            have_frame &&
            (next_other == others.size() || Key{f.offset_ns, static_cast<int>(TimelineKind::frame),
                                                f.seq} < others[next_other].first);
        if (take_frame) {
            frame.offset_ns = f.offset_ns;
            if (!visit(frame)) {
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
