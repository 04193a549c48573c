#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "schema/ops/session_stats.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct StatsOptions {
    std::string db;
    std::int64_t session = 0;
    bool json = false;
};

int run_stats(const StatsOptions& o) {
    ReadTape tape(resolve_db(o.db));
    schema::TapeStore& store = *tape;
    const std::int64_t id = session_or_newest(store, o.session);
    const auto st = schema::compute_stats(store, id, now_wall_ns());
    const auto& hb = st.heartbeat_intervals;
    if (o.json) {
        nlohmann::ordered_json j;
        j["session"] = id;
        j["state"] = std::string(schema::to_string(st.state));
        j["duration_ns"] = st.duration_ns;
        j["frames"] = st.counts.frames;
        j["events"] = st.counts.events;
        j["events_by_type"] = st.counts.by_event;
        j["frames_by_kind"] = st.counts.by_kind;
        j["event_rate"] = {{"mean_per_s", st.events_per_second_mean},
                           {"peak_per_s", st.events_peak_per_second},
                           {"peak_second", st.peak_second}};
        j["heartbeats"] = st.counts.heartbeats;
        j["heartbeat_intervals_ms"] = {{"count", hb.count},
                                       {"mean", hb.mean_ms},
                                       {"p50", hb.p50_ms},
                                       {"p99", hb.p99_ms},
                                       {"max", hb.max_ms}};
        j["connections"] = st.counts.connections;
        j["gaps"] = {{"count", st.counts.gaps},
                     {"total_ns", st.gap_total_ns},
                     {"longest_ns", st.gap_longest_ns},
                     {"by_cause", st.gaps_by_cause}};
        j["backfilled"] = {{"items", st.counts.backfilled},
                           {"already_streamed", st.backfill_already_streamed}};
        j["client_messages"] = st.counts.client_messages;
        j["frame_bytes"] = {{"raw", st.storage.raw_bytes},
                            {"stored", st.storage.stored_bytes},
                            {"compressed_frames", st.storage.compressed},
                            {"dictionary_trained_on", st.storage.dictionary_trained_on}};
        std::cout << j.dump(2) << '\n';
        return kExitOk;
    }
    std::printf("session %lld (%s): %s, %s\n", static_cast<long long>(id), st.session.label.c_str(),
                std::string(schema::to_string(st.state)).c_str(),
                format_duration(st.duration_ns).c_str());
    std::printf("frames      %lld (events %lld, heartbeats %lld)\n",
                static_cast<long long>(st.counts.frames), static_cast<long long>(st.counts.events),
                static_cast<long long>(st.counts.heartbeats));
    for (const auto& [kind, n] : st.counts.by_kind) {
        std::printf("  kind %-14s %lld\n", kind.c_str(), static_cast<long long>(n));
    }
    std::printf("events by type\n");
    for (const auto& [event, n] : st.counts.by_event) {
        std::printf("  %-22s %lld\n", event.c_str(), static_cast<long long>(n));
    }
    std::printf("event rate  mean %.2f/s, peak %lld/s (second %lld)\n", st.events_per_second_mean,
                static_cast<long long>(st.events_peak_per_second),
                static_cast<long long>(st.peak_second));
    std::printf("heartbeat intervals  %lld: mean %.1f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                static_cast<long long>(hb.count), hb.mean_ms, hb.p50_ms, hb.p99_ms, hb.max_ms);
    std::printf("connections %lld\n", static_cast<long long>(st.counts.connections));
    std::printf("gaps        %lld, total %s, longest %s\n", static_cast<long long>(st.counts.gaps),
                format_duration(st.gap_total_ns).c_str(),
                format_duration(st.gap_longest_ns).c_str());
    for (const auto& [cause, n] : st.gaps_by_cause) {
        std::printf("  cause %-18s %lld\n", cause.c_str(), static_cast<long long>(n));
    }
    std::printf("backfilled  %lld items (%lld already streamed)\n",
                static_cast<long long>(st.counts.backfilled),
                static_cast<long long>(st.backfill_already_streamed));
    const auto& fs = st.storage;
    std::string how = "stored plain";
    if (fs.compressed > 0) {
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.1fx",
                      static_cast<double>(fs.raw_bytes) / static_cast<double>(fs.stored_bytes));
        how = std::to_string(fs.stored_bytes) + " stored (" + ratio + "), " +
              std::to_string(fs.compressed) + " frames compressed with " +
              (fs.dictionary_trained_on > 0
                   ? "the session's own dictionary (trained on its first " +
                         std::to_string(fs.dictionary_trained_on) + " frames)"
                   : std::string("the built-in dictionary"));
    }
    std::printf("frame bytes %lld as received, %s\n", static_cast<long long>(fs.raw_bytes),
                how.c_str());
    return kExitOk;
}

}  // namespace

void add_stats_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<StatsOptions>();
    auto* sub = app.add_subcommand(
        "stats",
        "Summarize a session: events per type, rates, heartbeat intervals, gaps, backfill");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    sub->add_flag("--json", o->json, "Print JSON");
    sub->callback([o, &run] { run = [o] { return run_stats(*o); }; });
}

}  // namespace mastotape::tools
