#include "schema/tape/tape_verifier.hpp"

#include <algorithm>
#include <vector>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/tape/recorder_lock.hpp"

namespace mastotape::schema {
namespace {

constexpr std::size_t kMaxProblemsPerSession = 50;

using Kind = RecordRef::Kind;

class SessionCheck {
   public:
    SessionCheck(TapeStore& store, const Session& s) : store_(store), s_(s) {}

    // Returns the offset of the session's last record.
    std::int64_t run();
    std::vector<SessionProblem>& problems() { return problems_; }
    std::int64_t frames() const { return frames_; }

   private:
    void check_connections();
    void check_frames();
    void check_frame(const Frame& f);
    void check_gaps();
    void check_client_messages();
    void check_backfill();
    void saw(std::int64_t offset) { last_offset_ = std::max(last_offset_, offset); }
    // Whether `offset` is a time a tape can hold; a problem about `about` when not.
    bool in_range(RecordRef about, const std::string& name, std::int64_t offset) {
        if (offset_in_range(offset)) {
            return true;
        }
        problem(about, name + " is at offset " + std::to_string(offset) +
                           " ns, outside what a tape can hold (0 to 100 years)");
        return false;
    }

    void problem(RecordRef about, const std::string& what) {
        if (found_++ < kMaxProblemsPerSession) {
            problems_.push_back({about, what});
        } else if (found_ == kMaxProblemsPerSession + 1) {
            problems_.push_back({{}, "more problems not shown"});
        }
    }

    TapeStore& store_;
    const Session& s_;
    std::vector<SessionProblem> problems_;
    std::size_t found_ = 0;
    std::int64_t frames_ = 0;  // frames seen
    std::vector<Connection> connections_;
    std::vector<Gap> gaps_;
    std::string sse_label_;
    std::int64_t last_offset_ = 0;  // of the last record seen
    std::int64_t last_seq_ = 0;     // of the last frame
    std::int64_t prev_offset_ = 0;  // of the last frame
    std::int64_t prev_conn_ = 0;    // of the last frame
};

std::string describe_columns(const FrameColumns& c) {
    return std::string(to_string(c.kind)) + "/" + c.event.value_or("-") + "/" +
           c.stream.value_or("-") + "/" + c.object_id.value_or("-") +
           (c.parse_ok ? "" : "/unparsed");
}

std::int64_t SessionCheck::run() {
    sse_label_ = sse_label(s_);
    check_connections();
    check_frames();
    check_gaps();
    check_client_messages();
    check_backfill();
    if (s_.ended_offset_ns && in_range({}, "its end", *s_.ended_offset_ns) &&
        *s_.ended_offset_ns < prev_offset_) {
        problem({},
                "ends at " + std::to_string(*s_.ended_offset_ns) + " ns, before its last frame");
    }
    return last_offset_;
}

void SessionCheck::check_connections() {
    connections_ = store_.connections(s_.id);
    const auto& connections = connections_;
    for (std::size_t i = 0; i < connections.size(); ++i) {
        const auto& c = connections[i];
        const RecordRef me{Kind::connection, c.idx};
        const std::string name = "connection " + std::to_string(c.idx);
        if (c.idx != static_cast<std::int64_t>(i)) {
            problem(me, "connection numbers skip from " + std::to_string(i) + " to " +
                            std::to_string(c.idx));
        }
        in_range(me, name + "'s start", c.started_offset_ns);
        if (c.handshake_offset_ns) {
            in_range(me, name + "'s handshake", *c.handshake_offset_ns);
        }
        if (i > 0 && c.started_offset_ns < connections[i - 1].started_offset_ns) {
            problem(me, name + " starts before the connection before it");
        }
        if (c.ended_offset_ns) {
            if (!in_range(me, name + "'s end", *c.ended_offset_ns)) {
                continue;
            }
            if (*c.ended_offset_ns < c.started_offset_ns) {
                problem(me, name + " ends before it starts");
            }
            if (c.end_cause == EndCause::none) {
                problem(me, name + " has an end time but no end cause");
            }
            saw(*c.ended_offset_ns);
        } else if (s_.ended_wall_ns) {
            problem(me, name + " never ended, but the session did");
        } else if (i + 1 < connections.size()) {
            problem(me, name + " never ended, but a later connection started");
        }
    }
    if (connections.empty() && s_.ended_wall_ns && store_.counts(s_.id).frames > 0) {
        problem({}, "has frames but no connections");
    }
}

void SessionCheck::check_frames() {
    Frame f;
    auto cursor = store_.frames_from_seq(s_.id, 1);
    std::int64_t expected_seq = 1;
    for (;;) {
        try {
            if (!cursor.next(f)) {
                break;
            }
        } catch (const DamagedBytes&) {
            // Read up to its bytes: the frame's seq is known, and the cursor goes on after it.
            ++frames_;
            problem({Kind::frame, f.seq},
                    "frame " + std::to_string(f.seq) + " " + std::string(DamagedBytes::kDamaged));
            expected_seq = f.seq + 1;
            continue;
        }
        ++frames_;
        if (f.seq != expected_seq) {
            problem({Kind::frame, f.seq}, "frame seq jumps from " +
                                              std::to_string(expected_seq - 1) + " to " +
                                              std::to_string(f.seq));
        }
        expected_seq = f.seq + 1;
        check_frame(f);
    }
    last_seq_ = expected_seq - 1;
}

void SessionCheck::check_frame(const Frame& f) {
    const RecordRef me{Kind::frame, f.seq};
    const std::string name = "frame " + std::to_string(f.seq);
    if (!in_range(me, name, f.offset_ns)) {
        return;
    }
    if (f.offset_ns < prev_offset_) {
        problem(me, name + " offset goes backwards (" + std::to_string(f.offset_ns) + " < " +
                        std::to_string(prev_offset_) + ")");
    }
    prev_offset_ = f.offset_ns;
    if (f.connection_idx < prev_conn_) {
        problem(me, name + " belongs to an earlier connection than the frame before it");
    }
    prev_conn_ = f.connection_idx;
    if (f.connection_idx < 0 ||
        f.connection_idx >= static_cast<std::int64_t>(connections_.size())) {
        problem(me, name + " names connection " + std::to_string(f.connection_idx) +
                        ", which is not recorded");
    } else {
        const auto& c = connections_[static_cast<std::size_t>(f.connection_idx)];
        if (!c.handshake_offset_ns) {
            problem(me, name + " came on connection " + std::to_string(c.idx) +
                            ", whose handshake never finished");
        }
        if (f.offset_ns < c.started_offset_ns ||
            (c.ended_offset_ns && f.offset_ns > *c.ended_offset_ns)) {
            problem(me, name + " lies outside its connection's time");
        }
    }
    const FrameColumns want = expected_columns(s_.transport, f.columns.kind, f.bytes, sse_label_);
    if (!(want == f.columns)) {
        problem(me, name + " columns " + describe_columns(f.columns) + " do not match its bytes (" +
                        describe_columns(want) + ")");
    }
    saw(f.offset_ns);
}

void SessionCheck::check_gaps() {
    gaps_ = store_.gaps(s_.id);
    for (std::size_t i = 0; i < gaps_.size(); ++i) {
        const auto& g = gaps_[i];
        const RecordRef me{Kind::gap, g.idx};
        const std::string name = "gap " + std::to_string(g.idx);
        if (g.idx != static_cast<std::int64_t>(i)) {
            problem(me,
                    "gap numbers skip from " + std::to_string(i) + " to " + std::to_string(g.idx));
        }
        if (!in_range(me, name + "'s start", g.start_offset_ns) ||
            (g.end_offset_ns && !in_range(me, name + "'s end", *g.end_offset_ns))) {
            continue;
        }
        if (g.from_connection_idx < 0 ||
            g.from_connection_idx >= static_cast<std::int64_t>(connections_.size())) {
            problem(me, name + " follows connection " + std::to_string(g.from_connection_idx) +
                            ", which is not recorded");
        } else {
            const auto& c = connections_[static_cast<std::size_t>(g.from_connection_idx)];
            if (c.ended_offset_ns && *c.ended_offset_ns != g.start_offset_ns) {
                problem(me, name + " does not start when connection " + std::to_string(c.idx) +
                                " ended");
            }
        }
        if (g.end_offset_ns && *g.end_offset_ns < g.start_offset_ns) {
            problem(me, name + " ends before it starts");
        }
        if (g.last_seq_before < 0 || g.last_seq_before > last_seq_) {
            problem(me, name + " names frame " + std::to_string(g.last_seq_before) +
                            " as the last before it, which is not a frame of the session");
        }
        saw(g.end_offset_ns.value_or(g.start_offset_ns));
    }
}

void SessionCheck::check_client_messages() {
    const auto messages = store_.client_messages(s_.id);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        const RecordRef me{Kind::client_message, m.seq};
        if (m.seq != static_cast<std::int64_t>(i + 1)) {
            problem(me, "client message seq jumps to " + std::to_string(m.seq));
            break;
        }
        if (in_range(me, "client message " + std::to_string(m.seq), m.offset_ns)) {
            saw(m.offset_ns);
        }
    }
}

void SessionCheck::check_backfill() {
    std::vector<BackfillItem> items;
    try {
        items = store_.backfill(s_.id);
    } catch (const DamagedBytes& e) {
        problem({Kind::backfill, 0}, e.record() + " " + std::string(DamagedBytes::kDamaged));
        return;
    }
    std::int64_t expected = 1;
    for (const auto& b : items) {
        const RecordRef me{Kind::backfill, b.seq};
        const std::string name = "backfill item " + std::to_string(b.seq);
        if (b.seq != expected++) {
            problem(me, "backfill seq jumps to " + std::to_string(b.seq));
        }
        if (b.gap_idx < 0 || b.gap_idx >= static_cast<std::int64_t>(gaps_.size())) {
            problem(me,
                    name + " names gap " + std::to_string(b.gap_idx) + ", which is not recorded");
        }
        if (in_range(me, name, b.offset_ns)) {
            saw(b.offset_ns);
        }
    }
}

}  // namespace

std::vector<SessionProblem> check_session(TapeStore& store, const Session& s) {
    SessionCheck check(store, s);
    check.run();
    return std::move(check.problems());
}

VerifyReport verify_tape(TapeStore& store, bool repair, std::int64_t now_wall_ns) {
    VerifyReport report;
    for (const auto& line : store.integrity_problems()) {
        report.problems.push_back("integrity: " + line);
    }
    for (const auto& line : store.dictionary_problems()) {
        report.problems.push_back(line);
    }
    for (const auto& s : store.sessions()) {
        ++report.sessions;
        SessionCheck check(store, s);
        const std::int64_t last_offset = check.run();
        report.frames += check.frames();
        for (const auto& p : check.problems()) {
            report.problems.push_back("session " + std::to_string(s.id) + ": " + p.text);
        }
        if (live_state(store.path(), s, now_wall_ns) != SessionState::interrupted) {
            continue;
        }
        if (!repair) {
            report.problems.push_back("session " + std::to_string(s.id) +
                                      ": interrupted (the recorder never closed it); "
                                      "`mastotape verify --repair` closes it at its last record");
            continue;
        }
        store.in_transaction([&] {
            Session closed = s;
            closed.ended_offset_ns = last_offset;
            closed.ended_wall_ns = s.started_wall_ns + last_offset;
            closed.end_reason = SessionEnd::interrupted;
            closed.end_detail = "closed by verify --repair at its last record";
            store.set_session_end(closed);
            Batch b;
            b.session_id = s.id;
            for (auto c : store.connections(s.id)) {
                if (!c.ended_offset_ns) {
                    c.ended_offset_ns = std::max(last_offset, c.started_offset_ns);
                    c.ended_wall_ns =
                        c.started_wall_ns + (*c.ended_offset_ns - c.started_offset_ns);
                    c.end_cause = EndCause::interrupted;
                    c.end_detail = "the recorder stopped without closing this connection";
                    b.records.push_back(c);
                }
            }
            store.append(b);
        });
        report.repairs.push_back("session " + std::to_string(s.id) +
                                 ": closed as interrupted at offset " +
                                 std::to_string(last_offset) + " ns");
    }
    return report;
}

}  // namespace mastotape::schema
