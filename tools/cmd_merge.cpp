// `mastotape merge`: sessions of one tape copied into another, ids remapped, each whole or not
// at all, one already there skipped.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/tape/recorder_lock.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct MergeOptions {
    std::string source;
    std::vector<std::int64_t> sessions;
    std::string db;
    schema::Compression compression;
};

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    return std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec);
}

int run_merge(const MergeOptions& o) {
    const std::string target_path = resolve_db(o.db);
    if (same_file(o.source, target_path)) {
        throw schema::TapeError(o.source + ": cannot merge a tape into itself");
    }
    ReadTape source(o.source);
    std::vector<schema::Session> wanted;
    for (const auto& s : source->sessions()) {
        if (o.sessions.empty() ||
            std::find(o.sessions.begin(), o.sessions.end(), s.id) != o.sessions.end()) {
            wanted.push_back(s);
        }
    }
    for (const std::int64_t id : o.sessions) {
        if (std::none_of(wanted.begin(), wanted.end(), [&](const auto& s) { return s.id == id; })) {
            throw schema::TapeError(o.source + ": no session " + std::to_string(id));
        }
    }
    for (const auto& s : wanted) {
        if (schema::live_state(o.source, s, now_wall_ns()) == schema::SessionState::recording) {
            throw schema::TapeError(o.source + ": session " + std::to_string(s.id) +
                                    " is being recorded; merge it once it has ended");
        }
    }
    TapeTarget target(target_path, o.compression);
    std::int64_t merged = 0;
    std::int64_t skipped = 0;
    for (const auto& s : wanted) {
        // A session already there (the same recorded start, end and source) is not copied twice.
        const auto there = target.store().sessions();
        const auto same = std::find_if(there.begin(), there.end(), [&](const auto& t) {
            return t.started_wall_ns == s.started_wall_ns && t.source == s.source &&
                   t.ended_offset_ns == s.ended_offset_ns;
        });
        if (same != there.end()) {
            std::cout << "session " << s.id << " of " << o.source << " is already session "
                      << same->id << " of " << target_path << ": skipped\n";
            ++skipped;
            continue;
        }
        JsonlTransit copy(target_path, "merge");
        schema::export_session(*source, s.id, copy.out());
        const std::int64_t id =
            copy.import_into(target.store(), o.source + " session " + std::to_string(s.id));
        std::cout << "session " << s.id << " of " << o.source << " is now session " << id << " of "
                  << target_path << '\n';
        ++merged;
    }
    target.finish();
    std::cout << "merged " << merged << " session" << (merged == 1 ? "" : "s") << ", skipped "
              << skipped << '\n';
    return kExitOk;
}

}  // namespace

void add_merge_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<MergeOptions>();
    auto* sub = app.add_subcommand(
        "merge",
        "Copy sessions from another tape into this one (--db), with new ids; each session whole "
        "or not at all, one already here skipped; the source is never changed");
    sub->add_option("SOURCE", o->source, "The tape to copy from")->required();
    sub->add_option("--session", o->sessions, "A session of SOURCE (repeatable; default: all)");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->callback([o, &run] { run = [o] { return run_merge(*o); }; });
}

}  // namespace mastotape::tools
