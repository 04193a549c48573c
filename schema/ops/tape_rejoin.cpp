#include "schema/ops/tape_rejoin.hpp"

#include <filesystem>

#include "schema/tape/session_settings.hpp"

namespace mastotape::schema {
namespace {

constexpr std::size_t kFramesPerBatch = 2000;

// How the next session's numbers and times map into the earlier one's.
struct Shift {
    std::int64_t session = 0;
    std::int64_t offset_ns = 0;   // the next session's start in the earlier one's offsets
    std::int64_t frames = 0;      // the earlier session's last frame seq
    std::int64_t messages = 0;    // its last client message seq
    std::int64_t items = 0;       // its last backfill item seq
    std::int64_t gaps = 0;        // its gap count
    std::int64_t connection = 0;  // its last connection's idx: the next's connection 0

    std::int64_t connection_of(std::int64_t idx) const { return connection + idx; }
};

Connection shifted(Connection c, const Shift& s) {
    c.session_id = s.session;
    c.idx = s.connection_of(c.idx);
    c.started_offset_ns += s.offset_ns;
    if (c.handshake_offset_ns) {
        *c.handshake_offset_ns += s.offset_ns;
    }
    if (c.ended_offset_ns) {
        *c.ended_offset_ns += s.offset_ns;
    }
    return c;
}

Gap shifted(Gap g, const Shift& s) {
    g.session_id = s.session;
    g.idx += s.gaps;
    g.from_connection_idx = s.connection_of(g.from_connection_idx);
    g.start_offset_ns += s.offset_ns;
    if (g.end_offset_ns) {
        *g.end_offset_ns += s.offset_ns;
    }
    g.last_seq_before += s.frames;
    return g;
}

}  // namespace

bool continues(const Session& earlier, const Session& next, const std::string& next_path) {
    const auto to = SessionSettings::from_json(earlier.settings_json).rotated_to;
    const auto from = SessionSettings::from_json(next.settings_json).rotated_from;
    return to && from && earlier.end_reason == SessionEnd::rotated &&
           std::filesystem::path(to->file).filename() ==
               std::filesystem::path(next_path).filename() &&
           to->session == next.id && earlier.source == next.source && earlier.ended_wall_ns &&
           *earlier.ended_wall_ns == next.started_wall_ns;
}

void rejoin_rotation(TapeStore& to, std::int64_t into, TapeStore& from, std::int64_t next_id) {
    const Session earlier = to.session(into);
    const Session next = from.session(next_id);
    const SessionCounts counts = to.counts(into);
    const auto connections = to.connections(into);
    if (connections.empty() || connections.back().end_cause != EndCause::rotated) {
        throw TapeError(to.path() + ": session " + std::to_string(into) +
                        " does not end in a rotation; it cannot be continued");
    }
    Shift s;
    s.session = into;
    s.offset_ns = next.started_wall_ns - earlier.started_wall_ns;
    s.frames = counts.last_seq;
    s.messages = counts.client_messages;
    s.items = counts.backfilled;
    s.gaps = counts.gaps;
    s.connection = connections.back().idx;

    to.in_transaction([&] {
        Batch b;
        b.session_id = into;
        for (auto c : from.connections(next_id)) {
            if (c.idx == 0) {
                // The live connection carried over: the earlier row gets its end.
                Connection joined = connections.back();
                const Connection moved = shifted(c, s);
                joined.ended_offset_ns = moved.ended_offset_ns;
                joined.ended_wall_ns = moved.ended_wall_ns;
                joined.end_cause = moved.end_cause;
                joined.close_code = moved.close_code;
                joined.close_reason = moved.close_reason;
                joined.end_detail = moved.end_detail;
                b.records.emplace_back(joined);
            } else {
                b.records.emplace_back(shifted(std::move(c), s));
            }
        }
        for (auto g : from.gaps(next_id)) {
            b.records.emplace_back(shifted(std::move(g), s));
        }
        for (auto m : from.client_messages(next_id)) {
            m.session_id = into;
            m.seq += s.messages;
            m.connection_idx = s.connection_of(m.connection_idx);
            m.offset_ns += s.offset_ns;
            m.after_seq += s.frames;
            b.records.emplace_back(std::move(m));
        }
        for (auto i : from.backfill(next_id)) {
            i.session_id = into;
            i.seq += s.items;
            i.gap_idx += s.gaps;
            i.offset_ns += s.offset_ns;
            b.records.emplace_back(std::move(i));
        }
        to.append(b);
        auto cursor = from.frames_from_seq(next_id, 1);
        Frame f;
        Batch frames;
        frames.session_id = into;
        const auto flush = [&] {
            to.append(frames);
            frames.records.clear();
        };
        while (cursor.next(f)) {
            f.session_id = into;
            f.seq += s.frames;
            f.connection_idx = s.connection_of(f.connection_idx);
            f.offset_ns += s.offset_ns;
            frames.records.emplace_back(std::move(f));
            if (frames.size() >= kFramesPerBatch) {
                flush();
            }
        }
        flush();
        const auto rotated_to = SessionSettings::from_json(next.settings_json).rotated_to;
        to.set_setting(into, kRotatedToSetting, rotated_to ? to_json(*rotated_to) : "");
        to.end_session(into, next.ended_wall_ns.value_or(next.updated_wall_ns),
                       next.ended_offset_ns.value_or(0) + s.offset_ns, next.end_reason,
                       next.end_detail);
    });
}

}  // namespace mastotape::schema
