#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "schema/mastodon/iso_time.hpp"
#include "schema/ops/session_stats.hpp"
#include "schema/tape/recorder_lock.hpp"
#include "schema/tape/tape_store.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct SessionsOptions {
    std::string db;
    bool json = false;
};

std::string streams_text(const schema::Session& s) {
    std::string out;
    for (const auto& sub : s.subscriptions) {
        if (!out.empty()) {
            out += ',';
        }
        out += sub.stream;
        if (!sub.param.empty()) {
            out += "=" + sub.param;
        }
    }
    return out;
}

int run_sessions(const SessionsOptions& o) {
    ReadTape tape(resolve_db(o.db));
    schema::TapeStore& store = *tape;
    const std::int64_t now = now_wall_ns();
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    if (!o.json) {
        std::printf("%-4s %-20s %-28s %-9s %-24s %-24s %10s %9s %9s %5s %5s %4s %6s %s\n", "ID",
                    "LABEL", "SOURCE", "TRANSPORT", "STREAMS", "START", "DURATION", "FRAMES",
                    "EVENTS", "BEATS", "CONNS", "GAPS", "BACKF", "STATE");
    }
    for (const auto& s : store.sessions()) {
        const auto c = store.counts(s.id);
        const auto state = schema::live_state(store.path(), s, now);
        const std::int64_t duration = s.ended_offset_ns.value_or(c.last_offset_ns);
        if (o.json) {
            nlohmann::ordered_json r;
            r["id"] = s.id;
            r["label"] = s.label;
            r["source"] = s.source;
            r["transport"] = std::string(schema::to_string(s.transport));
            r["streams"] = nlohmann::ordered_json::array();
            for (const auto& sub : s.subscriptions) {
                r["streams"].push_back(nlohmann::ordered_json::parse(sub.label()));
            }
            r["start"] = schema::format_iso_ms(s.started_wall_ns);
            r["duration_ns"] = duration;
            r["frames"] = c.frames;
            r["events"] = c.events;
            r["heartbeats"] = c.heartbeats;
            r["connections"] = c.connections;
            r["gaps"] = c.gaps;
            r["backfilled"] = c.backfilled;
            r["state"] = std::string(schema::to_string(state));
            r["end_reason"] = schema::to_string(s.end_reason);
            rows.push_back(r);
            continue;
        }
        std::printf(
            "%-4lld %-20s %-28s %-9s %-24s %-24s %10s %9lld %9lld %5lld %5lld %4lld %6lld %s\n",
            static_cast<long long>(s.id), preview(s.label, 20).c_str(),
            preview(s.source, 28).c_str(), std::string(schema::to_string(s.transport)).c_str(),
            preview(streams_text(s), 24).c_str(), schema::format_iso_ms(s.started_wall_ns).c_str(),
            format_duration(duration).c_str(), static_cast<long long>(c.frames),
            static_cast<long long>(c.events), static_cast<long long>(c.heartbeats),
            static_cast<long long>(c.connections), static_cast<long long>(c.gaps),
            static_cast<long long>(c.backfilled), std::string(schema::to_string(state)).c_str());
    }
    if (o.json) {
        std::cout << rows.dump(2) << '\n';
    }
    return kExitOk;
}

}  // namespace

void add_sessions_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<SessionsOptions>();
    auto* sub = app.add_subcommand("sessions", "List the sessions in a tape, one row each");
    add_db_option(*sub, o->db);
    sub->add_flag("--json", o->json, "Print a JSON array instead of a table");
    sub->callback([o, &run] { run = [o] { return run_sessions(*o); }; });
}

}  // namespace mastotape::tools
