#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>

#include "schema/ops/synth.hpp"
#include "schema/text/byte_codec.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct SynthCommandOptions {
    std::string db;
    schema::SynthOptions synth;
    std::string transport = "websocket";
    std::vector<std::string> streams;
    std::string tag;
    std::string list;
    double duration_s = 0;
    schema::Compression compression;
    bool no_backfill = false;
    bool quiet = false;
};

// Set by Ctrl-C or SIGTERM; synth then stops at its next progress report and writes nothing.
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int /*signal*/) { g_interrupted = 1; }

int run_synth(SynthCommandOptions& o) {
    auto transport = schema::transport_from_string(o.transport);
    if (!transport) {
        std::cerr << "mastotape synth: --transport must be websocket or sse\n";
        return kExitUsage;
    }
    o.synth.transport = *transport;
    if (!o.streams.empty()) {
        o.synth.subscriptions.clear();
        for (const auto& spec : o.streams) {
            o.synth.subscriptions.push_back(parse_stream_spec(spec, o.tag, o.list));
        }
    }
    if (o.duration_s > 0) {
        o.synth.events = static_cast<std::int64_t>(o.duration_s * o.synth.rate);
    }
    o.synth.backfill = !o.no_backfill;
    const auto path = resolve_db(o.db);
    TapeTarget target(path, o.compression);
    const bool status = !o.quiet && stderr_is_tty();
    const auto started = std::chrono::steady_clock::now();
    std::int64_t id = 0;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    try {
        id = schema::synthesize(target.store(), o.synth, [&](std::int64_t n) {
            if (g_interrupted != 0) {
                // Unwinding rolls the session back, or removes the new file.
                throw schema::TapeError(path + ": synth interrupted; nothing was written");
            }
            if (status) {
                std::cerr << "\rsynth: " << n << " / " << o.synth.events << " events" << std::flush;
            }
        });
    } catch (const std::invalid_argument& e) {
        std::cerr << "mastotape synth: " << schema::printable(e.what()) << '\n';
        return kExitUsage;
    }
    auto& store = target.finish();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (status) {
        std::cerr << '\r';
    }
    const auto c = store.counts(id);
    if (!o.quiet) {
        std::printf(
            "session %lld: %lld events, %lld frames, %lld connections, %lld gaps, %lld "
            "backfilled, written to %s in %.2f s\n",
            static_cast<long long>(id), static_cast<long long>(c.events),
            static_cast<long long>(c.frames), static_cast<long long>(c.connections),
            static_cast<long long>(c.gaps), static_cast<long long>(c.backfilled), path.c_str(),
            secs);
    }
    return kExitOk;
}

}  // namespace

void add_synth_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<SynthCommandOptions>();
    auto* sub = app.add_subcommand(
        "synth",
        "Write a realistic session deterministically from a seed (for tests, demos and "
        "benchmarks)");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->add_option("--seed", o->synth.seed, "Seed; the same options give the same tape")
        ->capture_default_str();
    sub->add_option("--transport", o->transport, "websocket or sse")->capture_default_str();
    sub->add_option(
        "--stream", o->streams,
        "Stream, NAME or NAME=PARAM (hashtag=rust, list=42); repeatable (default: user)");
    sub->add_option("--tag", o->tag, "Tag for hashtag streams given without =PARAM");
    sub->add_option("--list", o->list, "List id for list streams given without =PARAM");
    sub->add_option("--events", o->synth.events, "Events delivered on the stream")
        ->capture_default_str();
    sub->add_option("--rate", o->synth.rate, "Mean events per second")->capture_default_str();
    sub->add_option("--duration", o->duration_s,
                    "Seconds of stream (sets --events = rate x duration)");
    sub->add_option("--connection-ends", o->synth.connection_ends,
                    "How each connection but the last ends, one gap each: eof, reset, close, "
                    "close-no-code, heartbeat-timeout, tls-error, network-error")
        ->delimiter(',');
    sub->add_option("--failed-attempts", o->synth.failed_attempts,
                    "Failed handshakes (HTTP 502) inside each gap")
        ->capture_default_str();
    sub->add_option("--missed-per-gap", o->synth.missed_per_gap,
                    "Events published during each gap, recovered by backfill")
        ->capture_default_str();
    sub->add_flag("--no-backfill", o->no_backfill, "Record gaps without backfill");
    sub->add_flag("--error-frame", o->synth.error_frame,
                  "Subscribe once to an unknown stream, recording the server's error frame");
    sub->add_option("--mix", o->synth.event_mix,
                    "Only these events, e.g. update,delete,status.update")
        ->delimiter(',');
    sub->add_option("--label", o->synth.label, "Session label");
    sub->add_option("--host", o->synth.host, "Instance host named in URLs and entities")
        ->capture_default_str();
    sub->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
    sub->callback([o, &run] { run = [o] { return run_synth(*o); }; });
}

}  // namespace mastotape::tools
