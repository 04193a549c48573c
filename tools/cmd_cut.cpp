// `mastotape cut`: a slice of a session into a new session (schema/ops/tape_cut.hpp).

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/tape_cut.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct CutOptions {
    std::string db;
    schema::Compression compression;
    std::string out;
    std::int64_t session = 0;
    double from_s = NAN, to_s = NAN;
    std::int64_t from_seq = 0, to_seq = 0;
    std::int64_t around_gap = -1;
    double before_s = 30, after_s = 30;
    std::vector<std::string> events;
    std::vector<std::string> streams;
    bool quiet = false;
};

std::int64_t to_ns(double s) { return static_cast<std::int64_t>(std::llround(s * 1e9)); }

int run_cut(const CutOptions& o) {
    schema::CutSpec spec;
    if (!std::isnan(o.from_s)) {
        spec.from_ns = to_ns(o.from_s);
    }
    if (!std::isnan(o.to_s)) {
        spec.to_ns = to_ns(o.to_s);
    }
    if (o.from_seq > 0) {
        spec.from_seq = o.from_seq;
    }
    if (o.to_seq > 0) {
        spec.to_seq = o.to_seq;
    }
    if (o.around_gap >= 0) {
        spec.around_gap = o.around_gap;
    }
    spec.before_ns = to_ns(o.before_s);
    spec.after_ns = to_ns(o.after_s);
    spec.events = o.events;
    spec.streams = o.streams;

    const std::string source = resolve_db(o.db);
    const std::string target = o.out.empty() ? source : o.out;
    JsonlTransit slice(target, "cut");
    std::int64_t id = 0;
    schema::CutSummary summary;
    const bool status = !o.quiet && stderr_is_tty();
    {
        ReadTape tape(source);
        id = session_or_newest(*tape, o.session);
        summary = schema::cut_session(*tape, id, spec, slice.out(), [&](std::int64_t n) {
            if (status) {
                std::cerr << "\rcut: " << n << " frames read" << std::flush;
            }
        });
        if (status) {
            std::cerr << '\r';
        }
    }
    TapeTarget into(target, o.compression);
    const std::int64_t made =
        slice.import_into(into.store(), "the slice of session " + std::to_string(id));
    into.finish();
    if (!o.quiet) {
        std::printf(
            "cut session %lld (%s to %s) into %s as session %lld: %lld frames, %lld connections, "
            "%lld gaps, %lld backfilled\n",
            static_cast<long long>(id), format_offset(summary.from_ns).c_str(),
            format_offset(summary.to_ns).c_str(), target.c_str(), static_cast<long long>(made),
            static_cast<long long>(summary.frames), static_cast<long long>(summary.connections),
            static_cast<long long>(summary.gaps), static_cast<long long>(summary.backfilled));
    }
    return kExitOk;
}

}  // namespace

void add_cut_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<CutOptions>();
    auto* sub = app.add_subcommand(
        "cut",
        "Copy a slice of a session (a time or frame range, or the stream around a gap) "
        "into a new session; the input is never changed");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->add_option("--out", o->out, "Tape to write the new session into (default: the same)");
    auto* from = sub->add_option("--from", o->from_s, "Start, in seconds from the session's start");
    auto* to = sub->add_option("--to", o->to_s, "End, in seconds from the session's start");
    auto* from_seq = sub->add_option("--from-seq", o->from_seq, "First frame number kept");
    auto* to_seq = sub->add_option("--to-seq", o->to_seq, "Last frame number kept");
    auto* gap = sub->add_option("--around-gap", o->around_gap,
                                "Gap K (as `show` numbers them) with the stream around it")
                    ->check(CLI::NonNegativeNumber);
    sub->add_option("--before", o->before_s, "With --around-gap: seconds kept before the gap")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    sub->add_option("--after", o->after_s, "With --around-gap: seconds kept after it")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    sub->add_option("--event", o->events,
                    "Keep only these events' frames (e.g. update,delete); heartbeats stay")
        ->delimiter(',');
    sub->add_option("--stream", o->streams, "Keep only event frames of this stream (repeatable)");
    sub->add_flag("-q,--quiet", o->quiet, "No summary line or progress");
    gap->excludes(from, to, from_seq, to_seq);
    from->excludes(from_seq, to_seq);
    to->excludes(from_seq, to_seq);
    sub->callback([o, &run] { run = [o] { return run_cut(*o); }; });
}

}  // namespace mastotape::tools
