#include <algorithm>
#include <iostream>
#include <limits>
#include <memory>
#include <set>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/tape/timeline.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

using schema::TimelineKind;

struct ShowOptions {
    std::string db;
    std::int64_t session = 0;
    std::vector<std::string> kinds;
    std::vector<std::string> events;
    std::int64_t from_seq = 0;
    std::int64_t to_seq = std::numeric_limits<std::int64_t>::max();
    double from_s = 0;
    double to_s = std::numeric_limits<double>::infinity();
    std::int64_t seq = 0;
    std::int64_t limit = 0;
    bool json = false;
    bool bytes = false;
};

// The filter name of an entry: a frame's kind, or the record type.
std::string kind_name(const schema::TimelineEntry& e) {
    if (const auto* f = std::get_if<schema::Frame>(&e.record)) {
        return std::string(schema::to_string(f->columns.kind));
    }
    return std::string(schema::jsonl_type(e.record));
}

std::string describe(const schema::TimelineEntry& e) {
    switch (e.kind) {
        case TimelineKind::connection_opened: {
            const auto& c = e.as<schema::Connection>();
            std::string s = "connection " + std::to_string(c.idx) + " open " + c.url;
            if (c.http_status) {
                s += " -> " + std::to_string(*c.http_status);
            }
            if (c.handshake_offset_ns) {
                s += " (handshake " +
                     format_duration(*c.handshake_offset_ns - c.started_offset_ns) + ")";
            }
            if (!c.error_message.empty()) {
                s += " " + schema::error_message_note(c);
            }
            return s;
        }
        case TimelineKind::connection_ended: {
            const auto& c = e.as<schema::Connection>();
            std::string s = "connection " + std::to_string(c.idx) + " end " +
                            std::string(schema::to_string(c.end_cause));
            if (c.close_code) {
                s += " " + std::to_string(*c.close_code);
            }
            if (!c.close_reason.empty()) {
                s += " \"" + preview(c.close_reason, 60) + "\"";
            }
            if (!c.end_detail.empty()) {
                s += " (" + c.end_detail + ")";
            }
            return s;
        }
        case TimelineKind::gap_started: {
            const auto& g = e.as<schema::Gap>();
            return "gap " + std::to_string(g.idx) + " start (" +
                   std::string(schema::to_string(g.cause)) + ", last frame #" +
                   std::to_string(g.last_seq_before) + ")";
        }
        case TimelineKind::gap_ended: {
            const auto& g = e.as<schema::Gap>();
            return "gap " + std::to_string(g.idx) + " end after " +
                   format_duration(*g.end_offset_ns - g.start_offset_ns) + ", backfill " +
                   std::string(schema::to_string(g.backfill_status)) + " (" +
                   std::to_string(g.backfilled) + " items)" +
                   (g.backfill_error.empty() ? "" : ": " + g.backfill_error);
        }
        case TimelineKind::client_message: {
            const auto& m = e.as<schema::ClientMessage>();
            return "-> client " + std::string(schema::to_string(m.kind)) + " " +
                   preview(m.bytes, 100);
        }
        case TimelineKind::backfill: {
            const auto& b = e.as<schema::BackfillItem>();
            return "backfill #" + std::to_string(b.seq) + " gap " + std::to_string(b.gap_idx) +
                   " " + b.endpoint + "?" + b.query + " -> " + std::to_string(b.http_status) +
                   " id=" + b.object_id + (b.already_streamed ? " (already streamed)" : "") + " (" +
                   std::to_string(b.body.size()) + " B)";
        }
        case TimelineKind::frame:
            break;
    }
    const auto& f = e.as<schema::Frame>();
    std::string s = "#" + std::to_string(f.seq) + " conn " + std::to_string(f.connection_idx) +
                    " " + std::string(schema::to_string(f.columns.kind));
    if (f.columns.event) {
        s += " " + *f.columns.event;
    }
    if (f.columns.stream) {
        s += " " + *f.columns.stream;
    }
    if (f.columns.object_id) {
        s += " id=" + *f.columns.object_id;
    }
    if (!f.columns.parse_ok) {
        s += " UNPARSED";
    }
    s += " (" + std::to_string(f.bytes.size()) + " B)";
    if (f.columns.kind != schema::FrameKind::event) {
        s += " " + preview(f.bytes, 80);
    }
    return s;
}

// --bytes: the frames' bytes exactly as received (decompressed), nothing else, read from the seq
// index (a frame of a long session comes at once).
int show_bytes(schema::TapeStore& store, std::int64_t id, const ShowOptions& o,
               const std::set<std::string>& kinds, const std::set<std::string>& events) {
    auto cursor = store.frames_from_seq(id, std::max<std::int64_t>(o.from_seq, 1));
    const auto from_ns = static_cast<std::int64_t>(o.from_s * 1e9);
    std::int64_t shown = 0;
    for (schema::Frame f; cursor.next(f) && f.seq <= o.to_seq;) {
        if (f.offset_ns < from_ns || static_cast<double>(f.offset_ns) > o.to_s * 1e9 ||
            (!kinds.empty() && kinds.count(std::string(schema::to_string(f.columns.kind))) == 0) ||
            (!events.empty() && (!f.columns.event || events.count(*f.columns.event) == 0))) {
            continue;
        }
        std::cout.write(f.bytes.data(), static_cast<std::streamsize>(f.bytes.size()));
        if (++shown == o.limit) {
            break;
        }
    }
    std::cout.flush();
    return kExitOk;
}

int run_show(ShowOptions o) {
    ReadTape tape(resolve_db(o.db));
    schema::TapeStore& store = *tape;
    const std::int64_t id = session_or_newest(store, o.session);
    const std::set<std::string> kinds(o.kinds.begin(), o.kinds.end());
    const std::set<std::string> events(o.events.begin(), o.events.end());
    if (o.seq > 0) {
        o.from_seq = o.seq;
        o.to_seq = o.seq;
    }
    if (o.bytes) {
        return show_bytes(store, id, o, kinds, events);
    }
    const auto from_ns = static_cast<std::int64_t>(o.from_s * 1e9);
    const double to_ns = o.to_s * 1e9;
    std::int64_t shown = 0;
    schema::walk_timeline(store, id, [&](const schema::TimelineEntry& e) {
        if (e.offset_ns < from_ns || static_cast<double>(e.offset_ns) > to_ns) {
            return static_cast<double>(e.offset_ns) <= to_ns;
        }
        if (!kinds.empty() && kinds.count(kind_name(e)) == 0) {
            return true;
        }
        const auto* f = std::get_if<schema::Frame>(&e.record);
        if (!events.empty() && (!f || !f->columns.event || events.count(*f->columns.event) == 0)) {
            return true;
        }
        if (f && (f->seq < o.from_seq || f->seq > o.to_seq)) {
            return f->seq <= o.to_seq;
        }
        if (o.json) {
            const std::string line = schema::to_jsonl(e);
            if (line.empty()) {
                return true;  // the end of a connection or gap is inside its record
            }
            std::cout << line << '\n';
        } else {
            std::cout << format_offset(e.offset_ns) << "  " << describe(e) << '\n';
        }
        ++shown;
        return o.limit == 0 || shown < o.limit;
    });
    return kExitOk;
}

}  // namespace

void add_show_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<ShowOptions>();
    auto* sub = app.add_subcommand("show", "Print a session's timeline, one line a record");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    sub->add_option("--kind", o->kinds,
                    "Only these: event, error, text, binary, ping, pong, comment, connection, gap, "
                    "client, backfill (repeatable)");
    sub->add_option("--event", o->events, "Only frames of this event, e.g. update (repeatable)");
    sub->add_option("--from-seq", o->from_seq, "Only frames from this seq on");
    sub->add_option("--to-seq", o->to_seq, "Only frames up to this seq");
    sub->add_option("--from", o->from_s, "Only records from this many seconds after the start");
    sub->add_option("--to", o->to_s, "Only records up to this many seconds after the start");
    sub->add_option("--seq", o->seq, "Only frame N (--from-seq N --to-seq N)");
    sub->add_option("--limit", o->limit, "Stop after this many lines");
    auto* json = sub->add_flag("--json", o->json, "Print the records as JSONL (the export format)");
    sub->add_flag("--bytes", o->bytes,
                  "Print only the frames' bytes, exactly as received, nothing between them "
                  "(`show --seq N --bytes`: frame N as the server sent it)")
        ->excludes(json);
    sub->callback([o, &run] { run = [o] { return run_show(*o); }; });
}

}  // namespace mastotape::tools
