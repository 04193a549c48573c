#include "schema/tape_verifier.hpp"

#include <algorithm>

#include "schema/frame_classifier.hpp"

namespace mastotape::schema {
namespace {

constexpr std::size_t kMaxProblemsPerSession = 50;

class SessionCheck {
   public:
    SessionCheck(TapeStore& store, const Session& s, VerifyReport& report)
        : store_(store), s_(s), report_(report) {}

    // Returns the offset of the session's last record.
    std::int64_t run();

   private:
    void problem(const std::string& what) {
        if (found_++ < kMaxProblemsPerSession) {
            report_.problems.push_back("session " + std::to_string(s_.id) + ": " + what);
        } else if (found_ == kMaxProblemsPerSession + 1) {
            report_.problems.push_back("session " + std::to_string(s_.id) +
                                       ": more problems not shown");
        }
    }

    TapeStore& store_;
    const Session& s_;
    VerifyReport& report_;
    std::size_t found_ = 0;
};

std::string describe_columns(const FrameColumns& c) {
    return std::string(to_string(c.kind)) + "/" + c.event.value_or("-") + "/" +
           c.stream.value_or("-") + "/" + c.object_id.value_or("-") +
           (c.parse_ok ? "" : "/unparsed");
}

std::int64_t SessionCheck::run() {
    const std::string sse_label = s_.transport == Transport::sse && !s_.subscriptions.empty()
                                      ? s_.subscriptions.front().label()
                                      : std::string();
    const auto connections = store_.connections(s_.id);
    std::int64_t last_offset = 0;
    for (std::size_t i = 0; i < connections.size(); ++i) {
        const auto& c = connections[i];
        const std::string name = "connection " + std::to_string(c.idx);
        if (c.idx != static_cast<std::int64_t>(i)) {
            problem("connection numbers skip from " + std::to_string(i) + " to " +
                    std::to_string(c.idx));
        }
        if (i > 0 && c.started_offset_ns < connections[i - 1].started_offset_ns) {
            problem(name + " starts before the connection before it");
        }
        if (c.ended_offset_ns) {
            if (*c.ended_offset_ns < c.started_offset_ns) {
                problem(name + " ends before it starts");
            }
            if (c.end_cause == EndCause::none) {
                problem(name + " has an end time but no end cause");
            }
            last_offset = std::max(last_offset, *c.ended_offset_ns);
        } else if (s_.ended_wall_ns) {
            problem(name + " never ended, but the session did");
        } else if (i + 1 < connections.size()) {
            problem(name + " never ended, but a later connection started");
        }
    }
    if (connections.empty() && s_.ended_wall_ns) {
        const auto counts = store_.counts(s_.id);
        if (counts.frames > 0) {
            problem("has frames but no connections");
        }
    }

    Frame f;
    auto cursor = store_.frames_from_seq(s_.id, 1);
    std::int64_t expected_seq = 1;
    std::int64_t prev_offset = 0;
    std::int64_t prev_conn = 0;
    while (cursor.next(f)) {
        ++report_.frames;
        const std::string name = "frame " + std::to_string(f.seq);
        if (f.seq != expected_seq) {
            problem("frame seq jumps from " + std::to_string(expected_seq - 1) + " to " +
                    std::to_string(f.seq));
        }
        expected_seq = f.seq + 1;
        if (f.offset_ns < prev_offset) {
            problem(name + " offset goes backwards (" + std::to_string(f.offset_ns) + " < " +
                    std::to_string(prev_offset) + ")");
        }
        prev_offset = f.offset_ns;
        if (f.connection_idx < prev_conn) {
            problem(name + " belongs to an earlier connection than the frame before it");
        }
        prev_conn = f.connection_idx;
        if (f.connection_idx < 0 ||
            f.connection_idx >= static_cast<std::int64_t>(connections.size())) {
            problem(name + " names connection " + std::to_string(f.connection_idx) +
                    ", which is not recorded");
        } else {
            const auto& c = connections[static_cast<std::size_t>(f.connection_idx)];
            if (f.offset_ns < c.started_offset_ns ||
                (c.ended_offset_ns && f.offset_ns > *c.ended_offset_ns)) {
                problem(name + " lies outside its connection's time");
            }
        }
        const FrameColumns want =
            expected_columns(s_.transport, f.columns.kind, f.bytes, sse_label);
        if (!(want == f.columns)) {
            problem(name + " columns " + describe_columns(f.columns) + " do not match its bytes (" +
                    describe_columns(want) + ")");
        }
        last_offset = std::max(last_offset, f.offset_ns);
    }
    const std::int64_t last_seq = expected_seq - 1;

    const auto gaps = store_.gaps(s_.id);
    for (std::size_t i = 0; i < gaps.size(); ++i) {
        const auto& g = gaps[i];
        const std::string name = "gap " + std::to_string(g.idx);
        if (g.idx != static_cast<std::int64_t>(i)) {
            problem("gap numbers skip from " + std::to_string(i) + " to " + std::to_string(g.idx));
        }
        if (g.from_connection_idx >= static_cast<std::int64_t>(connections.size())) {
            problem(name + " follows connection " + std::to_string(g.from_connection_idx) +
                    ", which is not recorded");
        } else {
            const auto& c = connections[static_cast<std::size_t>(g.from_connection_idx)];
            if (c.ended_offset_ns && *c.ended_offset_ns != g.start_offset_ns) {
                problem(name + " does not start when connection " + std::to_string(c.idx) +
                        " ended");
            }
        }
        if (g.end_offset_ns && *g.end_offset_ns < g.start_offset_ns) {
            problem(name + " ends before it starts");
        }
        if (g.last_seq_before > last_seq) {
            problem(name + " names frame " + std::to_string(g.last_seq_before) +
                    " as the last before it, past the last frame");
        }
        last_offset = std::max(last_offset, g.end_offset_ns.value_or(g.start_offset_ns));
    }

    const auto messages = store_.client_messages(s_.id);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].seq != static_cast<std::int64_t>(i + 1)) {
            problem("client message seq jumps to " + std::to_string(messages[i].seq));
            break;
        }
        last_offset = std::max(last_offset, messages[i].offset_ns);
    }
    std::int64_t expected_backfill = 1;
    for (const auto& b : store_.backfill(s_.id)) {
        if (b.seq != expected_backfill++) {
            problem("backfill seq jumps to " + std::to_string(b.seq));
        }
        if (b.gap_idx < 0 || b.gap_idx >= static_cast<std::int64_t>(gaps.size())) {
            problem("backfill item " + std::to_string(b.seq) + " names gap " +
                    std::to_string(b.gap_idx) + ", which is not recorded");
        }
        last_offset = std::max(last_offset, b.offset_ns);
    }
    if (s_.ended_offset_ns && *s_.ended_offset_ns < prev_offset) {
        problem("ends at " + std::to_string(*s_.ended_offset_ns) + " ns, before its last frame");
    }
    return last_offset;
}

}  // namespace

VerifyReport verify_tape(TapeStore& store, bool repair, std::int64_t now_wall_ns) {
    VerifyReport report;
    for (const auto& line : store.integrity_problems()) {
        report.problems.push_back("integrity: " + line);
    }
    for (const auto& s : store.sessions()) {
        ++report.sessions;
        SessionCheck check(store, s, report);
        const std::int64_t last_offset = check.run();
        if (session_state(s, now_wall_ns) != SessionState::interrupted) {
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
            closed.end_reason = "interrupted";
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
                    b.connections.push_back(c);
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
