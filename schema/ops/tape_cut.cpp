#include "schema/ops/tape_cut.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/heartbeats.hpp"
#include "schema/tape/session_numbering.hpp"
#include "schema/tape/session_settings.hpp"
#include "schema/tape/timeline.hpp"

namespace mastotape::schema {
namespace {

constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

std::string seconds(std::int64_t ns) {
    return std::to_string(static_cast<double>(ns) / 1e9).substr(0, 8) + " s";
}

// The slice [lo, hi] that `spec` names, before the gaps it touches widen it.
std::pair<std::int64_t, std::int64_t> named_slice(TapeStore& store, std::int64_t id,
                                                  const CutSpec& spec, const std::vector<Gap>& gaps,
                                                  std::int64_t end) {
    if (spec.around_gap) {
        const auto g = std::find_if(gaps.begin(), gaps.end(),
                                    [&](const Gap& x) { return x.idx == *spec.around_gap; });
        if (g == gaps.end()) {
            throw TapeError("session " + std::to_string(id) + " has no gap " +
                            std::to_string(*spec.around_gap) +
                            (gaps.empty()
                                 ? std::string(" (it has none)")
                                 : " (its gaps are 0 to " + std::to_string(gaps.size() - 1) + ")"));
        }
        return {g->start_offset_ns - spec.before_ns,
                g->end_offset_ns.value_or(end) + spec.after_ns};
    }
    if (spec.from_seq || spec.to_seq) {
        const auto offset_of = [&](std::int64_t seq) {
            auto cursor = store.frames_from_seq(id, seq);
            Frame f;
            if (!cursor.next(f) || f.seq != seq) {
                throw TapeError("session " + std::to_string(id) + " has no frame " +
                                std::to_string(seq));
            }
            return f.offset_ns;
        };
        return {spec.from_seq ? offset_of(*spec.from_seq) : 0,
                spec.to_seq ? offset_of(*spec.to_seq) : end};
    }
    return {spec.from_ns.value_or(0), spec.to_ns.value_or(end)};
}

// Writes the slice: one pass over the timeline, renumbering as it goes.
class Cutter {
   public:
    Cutter(TapeStore& store, std::int64_t id, const CutSpec& spec, std::ostream& out)
        : store_(store), id_(id), spec_(spec), out_(out), session_(store.session(id)) {}

    CutSummary run(const std::function<void(std::int64_t)>& progress) {
        choose();
        Session s = session_;
        s.started_wall_ns += lo_;
        s.ended_offset_ns = hi_ - lo_;
        s.ended_wall_ns = s.started_wall_ns + (hi_ - lo_);
        s.end_reason =
            hi_ == end_ && session_.ended_offset_ns ? session_.end_reason : SessionEnd::stopped;
        s.end_detail = hi_ == end_ ? session_.end_detail : "";
        out_ << header_jsonl(s) << '\n';
        std::int64_t read = 0;
        walk_timeline(store_, id_, [&](const TimelineEntry& e) {
            if (e.kind == TimelineKind::frame && progress && ++read % 65536 == 0) {
                progress(read);
            }
            visit(e);
            return static_cast<bool>(out_);
        });
        // A recorder stopped there would have sent its close (1000), as mastotape record does.
        for (const auto& c : stopped_) {
            ClientMessage close;
            close.session_id = id_;
            close.seq = numbering_.next_client_message();
            close.connection_idx = c.idx;
            close.offset_ns = hi_ - lo_;
            close.wall_ns = c.started_wall_ns + (hi_ - c.started_offset_ns);
            close.after_seq = numbering_.last_frame();
            close.kind = MessageKind::close;
            close.bytes = std::string("\x03\xe8", 2);
            emit(close);
        }
        if (!out_) {
            throw TapeError("cut of session " + std::to_string(id_) +
                            " failed: write error (disk full?)");
        }
        summary_.from_ns = lo_;
        summary_.to_ns = hi_;
        return summary_;
    }

   private:
    // The slice, widened to the gaps it touches (kept whole, with their backfill), and what of
    // the session's small records it keeps.
    void choose() {
        const auto gaps = store_.gaps(id_);
        const auto counts = store_.counts(id_);
        end_ = session_.ended_offset_ns.value_or(counts.last_offset_ns);
        std::tie(lo_, hi_) = named_slice(store_, id_, spec_, gaps, end_);
        lo_ = std::max<std::int64_t>(lo_, 0);
        hi_ = std::min(hi_, end_);
        if (lo_ > hi_) {
            throw TapeError("the slice from " + seconds(lo_) + " to " + seconds(hi_) +
                            " is empty (session " + std::to_string(id_) + " lasts " +
                            seconds(end_) + ")");
        }
        std::map<std::int64_t, std::int64_t> fetched_by;  // gap -> its last backfill fetch
        for (const auto& b : store_.backfill(id_)) {
            fetched_by[b.gap_idx] = std::max(fetched_by[b.gap_idx], b.offset_ns);
        }
        // A connection the slice sees end by a heartbeat timeout is kept from before its
        // silence began: a cut shorter than the silence could not have ended that way.
        const std::int64_t silence = SessionSettings::from_json(session_.settings_json)
                                         .heartbeat_timeout_ns(session_.transport);
        const auto conns = store_.connections(id_);
        for (bool widened = true; widened;) {
            widened = false;
            for (const auto& c : conns) {
                if (c.end_cause == EndCause::heartbeat_timeout && *c.ended_offset_ns >= lo_ &&
                    *c.ended_offset_ns <= hi_ && *c.ended_offset_ns - silence < lo_) {
                    lo_ = std::max<std::int64_t>(0, *c.ended_offset_ns - silence);
                    widened = true;
                }
            }
            for (const auto& g : gaps) {
                const std::int64_t g_end = g.end_offset_ns.value_or(end_);
                if (g.start_offset_ns <= hi_ && g_end >= lo_ && !gap_idx_.count(g.idx)) {
                    gap_idx_[g.idx] = static_cast<std::int64_t>(gap_idx_.size());
                    lo_ = std::min(lo_, g.start_offset_ns);
                    hi_ = std::max({hi_, g_end, fetched_by.count(g.idx) ? fetched_by[g.idx] : 0});
                    widened = true;
                }
            }
        }
        hi_ = std::min(hi_, end_);
        // Renumbered in order (the gaps' map filled as found: renumber by idx).
        for (auto& [idx, renumbered] : gap_idx_) {
            renumbered = numbering_.next_gap();
        }
        for (const auto& c : conns) {
            const bool opened = c.handshake_offset_ns.has_value();
            const std::int64_t c_end = c.ended_offset_ns.value_or(kForever);
            const bool kept = opened ? c.started_offset_ns <= hi_ && c_end >= lo_
                                     : c.started_offset_ns >= lo_ && c.started_offset_ns <= hi_;
            if (kept) {
                conn_idx_[c.idx] = numbering_.next_connection();
            }
        }
    }

    // The new seq of the last kept frame at or before old seq `seq`.
    std::int64_t renumbered(std::int64_t seq) const {
        for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
            if (it->first <= seq) {
                return it->second;
            }
        }
        return 0;  // before every frame kept (or older than the window: 4,096 frames back)
    }

    bool keeps_frame(const Frame& f) const {
        if (f.offset_ns < lo_ || f.offset_ns > hi_ || !conn_idx_.count(f.connection_idx) ||
            (spec_.from_seq && f.seq < *spec_.from_seq) ||
            (spec_.to_seq && f.seq > *spec_.to_seq)) {
            return false;
        }
        if (f.columns.kind != FrameKind::event) {
            return true;
        }
        const auto& events = spec_.events;
        if (!events.empty() && (!f.columns.event || std::find(events.begin(), events.end(),
                                                              *f.columns.event) == events.end())) {
            return false;
        }
        const auto& streams = spec_.streams;
        if (!streams.empty() && f.columns.stream) {
            const auto named = subscription_of_label(*f.columns.stream);
            return named &&
                   std::find(streams.begin(), streams.end(), named->stream) != streams.end();
        }
        return true;
    }

    // A record as its JSONL line.
    void emit(const Record& r) { out_ << to_jsonl(r) << '\n'; }

    void visit(const TimelineEntry& e) {
        switch (e.kind) {
            case TimelineKind::connection_opened:
                return connection(e.as<Connection>());
            case TimelineKind::gap_started:
                return gap(e.as<Gap>());
            case TimelineKind::client_message:
                return message(e.as<ClientMessage>());
            case TimelineKind::frame:
                return frame(e.as<Frame>());
            case TimelineKind::backfill:
                return backfill(e.as<BackfillItem>());
            default:
                return;
        }
    }

    void connection(Connection c) {
        const auto it = conn_idx_.find(c.idx);
        if (it == conn_idx_.end()) {
            return;
        }
        c.idx = it->second;
        if (c.started_offset_ns < lo_) {  // open at the slice's start: as if it opened then
            c.started_wall_ns += lo_ - c.started_offset_ns;
            c.started_offset_ns = lo_;
            c.handshake_offset_ns = std::max(*c.handshake_offset_ns, lo_);
        }
        if (!c.ended_offset_ns || *c.ended_offset_ns > hi_) {  // open at its end: stopped there
            c.ended_wall_ns = c.started_wall_ns + (hi_ - c.started_offset_ns);
            c.ended_offset_ns = hi_;
            c.end_cause = EndCause::local_stop;
            c.close_code = 1000;
            c.close_reason.clear();
            c.end_detail.clear();
            stopped_.push_back(c);
        }
        c.started_offset_ns -= lo_;
        if (c.handshake_offset_ns) {
            *c.handshake_offset_ns -= lo_;
        }
        *c.ended_offset_ns -= lo_;
        emit(c);
        ++summary_.connections;
    }

    void gap(Gap g) {
        const auto it = gap_idx_.find(g.idx);
        if (it == gap_idx_.end()) {
            return;
        }
        g.idx = it->second;
        g.from_connection_idx = conn_idx_.at(g.from_connection_idx);
        g.last_seq_before = renumbered(g.last_seq_before);
        g.start_offset_ns -= lo_;
        if (g.end_offset_ns) {
            *g.end_offset_ns -= lo_;
        }
        emit(g);
        ++summary_.gaps;
    }

    void message(ClientMessage m) {
        const auto it = conn_idx_.find(m.connection_idx);
        if (it == conn_idx_.end() || m.offset_ns > hi_) {
            return;
        }
        if (m.offset_ns < lo_) {
            // Sent before the slice on a connection it keeps: what the connection depends on
            // (its subscriptions) stays, as sent at the slice's start.
            if (m.kind != MessageKind::text) {
                return;
            }
            m.wall_ns += lo_ - m.offset_ns;
            m.offset_ns = lo_;
            m.after_seq = 0;
        } else {
            m.after_seq = renumbered(m.after_seq);
        }
        m.connection_idx = it->second;
        m.seq = numbering_.next_client_message();
        m.offset_ns -= lo_;
        emit(m);
    }

    void frame(const Frame& f) {
        Frame copy = f;
        if (f.offset_ns < lo_ && f.columns.kind == FrameKind::error &&
            conn_idx_.count(f.connection_idx)) {
            copy.offset_ns = lo_;  // the answer to a subscribe kept from before the slice
            copy.wall_ns += lo_ - f.offset_ns;
        } else if (!keeps_frame(f)) {
            return;
        }
        copy.seq = numbering_.next_frame();
        copy.connection_idx = conn_idx_.at(copy.connection_idx);
        copy.offset_ns -= lo_;
        recent_.emplace_back(f.seq, copy.seq);
        if (recent_.size() > 4096) {
            recent_.pop_front();
        }
        emit(copy);
        ++summary_.frames;
    }

    void backfill(BackfillItem b) {
        const auto it = gap_idx_.find(b.gap_idx);
        if (it == gap_idx_.end()) {
            return;
        }
        b.gap_idx = it->second;
        b.seq = numbering_.next_backfill_item();
        b.offset_ns -= lo_;
        emit(b);
        ++summary_.backfilled;
    }

    TapeStore& store_;
    std::int64_t id_;
    const CutSpec& spec_;
    std::ostream& out_;
    Session session_;
    std::int64_t lo_ = 0, hi_ = 0, end_ = 0;
    std::map<std::int64_t, std::int64_t> conn_idx_, gap_idx_;   // old idx -> new idx
    std::deque<std::pair<std::int64_t, std::int64_t>> recent_;  // (old seq, new seq) kept
    SessionNumbering numbering_;
    std::vector<Connection> stopped_;  // open at the slice's end (idx renumbered, offsets not)
    CutSummary summary_;
};

}  // namespace

CutSummary cut_session(TapeStore& store, std::int64_t session_id, const CutSpec& spec,
                       std::ostream& out, const std::function<void(std::int64_t)>& progress) {
    return Cutter(store, session_id, spec, out).run(progress);
}

}  // namespace mastotape::schema
