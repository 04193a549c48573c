// import-har: streaming entries joined into one session (see har_join.hpp).

#include "schema/formats/har_join.hpp"

#include <algorithm>
#include <set>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/tape/session_numbering.hpp"

namespace mastotape::schema {
namespace {

// Moves draft `d`'s one connection and what arrived on it into `out` as its next connection,
// numbered on from what came before, its times rebased from the draft's start onto the session's.
void append_connection(HarDraft& out, HarDraft& d, SessionNumbering& n) {
    const std::int64_t shift = d.session.started_wall_ns - out.session.started_wall_ns;
    const std::int64_t frames_before = n.last_frame();  // the draft's frames count from 1
    schema::Connection c = d.connections.front();
    c.idx = n.next_connection();
    const std::int64_t k = c.idx;
    c.started_offset_ns += shift;
    for (auto* t : {&c.handshake_offset_ns, &c.ended_offset_ns}) {
        if (*t) {
            **t += shift;
        }
    }
    out.connections.push_back(std::move(c));
    for (auto& f : d.frames) {
        f.seq = n.next_frame();
        f.connection_idx = k;
        f.offset_ns += shift;
        out.frames.push_back(std::move(f));
    }
    for (auto& m : d.client_messages) {
        m.seq = n.next_client_message();
        m.after_seq += frames_before;
        m.connection_idx = k;
        m.offset_ns += shift;
        out.client_messages.push_back(std::move(m));
    }
    if (d.session.ended_offset_ns &&
        (!out.session.ended_offset_ns ||
         *d.session.ended_offset_ns + shift > *out.session.ended_offset_ns)) {
        out.session.ended_offset_ns = *d.session.ended_offset_ns + shift;
        out.session.ended_wall_ns = out.session.started_wall_ns + *out.session.ended_offset_ns;
    }
    for (const auto& s : d.session.subscriptions) {
        auto& subs = out.session.subscriptions;
        if (std::find(subs.begin(), subs.end(), s) == subs.end()) {
            subs.push_back(s);
        }
    }
    for (auto& note : d.notes) {
        if (std::find(out.notes.begin(), out.notes.end(), note) == out.notes.end()) {
            out.notes.push_back(std::move(note));
        }
    }
}

// A gap after every established connection that the capture did not end, until the next
// established connection's handshake (open when none came).
void add_gaps(HarDraft& out, const std::vector<HarDraft>& drafts, SessionNumbering& n) {
    const auto& cs = out.connections;
    std::vector<std::int64_t> last_seq(cs.size(), 0);  // the last frame by each connection's end
    for (const auto& f : out.frames) {
        last_seq[static_cast<std::size_t>(f.connection_idx)] = f.seq;
    }
    for (std::size_t k = 1; k < cs.size(); ++k) {
        last_seq[k] = std::max(last_seq[k], last_seq[k - 1]);
    }
    for (std::size_t k = 0; k < cs.size(); ++k) {
        const auto cause = cs[k].end_cause;
        if (!cs[k].handshake_offset_ns || !cs[k].ended_offset_ns ||
            cause == schema::EndCause::none || cause == schema::EndCause::local_stop ||
            cause == schema::EndCause::handshake_failed) {
            continue;
        }
        schema::Gap g;
        g.idx = n.next_gap();
        g.from_connection_idx = cs[k].idx;
        g.start_offset_ns = *cs[k].ended_offset_ns;
        g.start_wall_ns = out.session.started_wall_ns + g.start_offset_ns;
        g.cause = cause;
        g.last_seq_before = last_seq[k];
        for (std::size_t j = k + 1; j < cs.size(); ++j) {
            if (cs[j].handshake_offset_ns) {
                g.end_offset_ns = *cs[j].handshake_offset_ns;
                g.end_wall_ns = out.session.started_wall_ns + *g.end_offset_ns;
                break;
            }
        }
        g.backfill_status = drafts[k].gap_status.value_or(schema::BackfillStatus::none);
        g.backfill_error = drafts[k].gap_error;
        out.gaps.push_back(std::move(g));
    }
}

// The gap a page belongs to: the one it names, else the latest that had started when it was
// asked for and had not ended long before (a client backfills as it comes back).
std::optional<std::size_t> gap_of(const HarDraft& out, const HarPage& page) {
    const auto& gaps = out.gaps;
    if (page.gap) {
        return *page.gap >= 0 && static_cast<std::size_t>(*page.gap) < gaps.size()
                   ? std::optional<std::size_t>(static_cast<std::size_t>(*page.gap))
                   : std::nullopt;
    }
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < gaps.size(); ++i) {
        if (gaps[i].start_wall_ns <= page.wall_ns) {
            found = i;
        }
    }
    return found;
}

// Each page inside a gap as that gap's backfill; an item the stream had delivered before it was
// fetched is marked so.
void add_backfill(HarDraft& out, const std::vector<HarPage>& pages, SessionNumbering& n) {
    for (const HarPage& page : pages) {
        const auto g = gap_of(out, page);
        if (!g) {
            continue;
        }
        schema::Gap& gap = out.gaps[*g];
        const std::int64_t offset = page.wall_ns - out.session.started_wall_ns;
        std::set<std::string> streamed;
        for (const auto& f : out.frames) {
            if (f.offset_ns <= offset && f.columns.object_id) {
                streamed.insert(*f.columns.object_id);
            }
        }
        for (const std::string& body : page.items) {
            schema::BackfillItem item;
            item.seq = n.next_backfill_item();
            item.gap_idx = gap.idx;
            item.offset_ns = offset;
            item.wall_ns = page.wall_ns;
            item.endpoint = page.endpoint;
            item.query = page.query;
            item.http_status = page.status;
            item.object_id = schema::entity_id(body).value_or("");
            item.already_streamed = streamed.count(item.object_id) > 0;
            item.body = body;
            out.backfill.push_back(std::move(item));
            ++gap.backfilled;
        }
        if (!page.gap && gap.backfill_status == schema::BackfillStatus::none) {
            gap.backfill_status = schema::BackfillStatus::ok;  // the client's own fetch
        }
    }
}

}  // namespace

HarDraft join_entries(std::vector<HarDraft> drafts, const std::vector<HarPage>& pages) {
    std::stable_sort(drafts.begin(), drafts.end(), [](const HarDraft& a, const HarDraft& b) {
        return a.session.started_wall_ns < b.session.started_wall_ns;
    });
    HarDraft out;
    out.session = drafts.front().session;
    out.session.subscriptions.clear();
    out.session.ended_offset_ns.reset();
    SessionNumbering n;
    for (auto& d : drafts) {
        append_connection(out, d, n);
    }
    add_gaps(out, drafts, n);
    add_backfill(out, pages, n);
    return out;
}

}  // namespace mastotape::schema
