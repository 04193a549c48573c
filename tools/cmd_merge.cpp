// `mastotape merge`: sessions of tapes copied into another, ids remapped, each whole or not at
// all, one already there skipped, a rotated recording's files rejoined into one session.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/tape_rejoin.hpp"
#include "schema/tape/recorder_lock.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct MergeOptions {
    std::vector<std::string> sources;
    std::vector<std::int64_t> sessions;
    std::string db;
    schema::Compression compression;
};

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    return std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec);
}

// A session to merge, and the tape it is in.
struct Wanted {
    std::size_t source = 0;
    schema::Session session;
};

// The sessions of the sources to merge, oldest first: a rotated archive's files, named in any
// order, rejoin in the order they were recorded.
std::vector<Wanted> wanted_sessions(const MergeOptions& o,
                                    std::vector<std::unique_ptr<ReadTape>>& tapes) {
    std::vector<Wanted> wanted;
    for (std::size_t k = 0; k < o.sources.size(); ++k) {
        for (const auto& s : (*tapes[k])->sessions()) {
            if (o.sessions.empty() ||
                std::find(o.sessions.begin(), o.sessions.end(), s.id) != o.sessions.end()) {
                wanted.push_back({k, s});
            }
        }
    }
    for (const std::int64_t id : o.sessions) {
        if (std::none_of(wanted.begin(), wanted.end(),
                         [&](const auto& w) { return w.session.id == id; })) {
            throw schema::TapeError(o.sources.front() + ": no session " + std::to_string(id));
        }
    }
    for (const auto& w : wanted) {
        const std::string& path = o.sources[w.source];
        if (schema::live_state(path, w.session, now_wall_ns()) == schema::SessionState::recording) {
            throw schema::TapeError(path + ": session " + std::to_string(w.session.id) +
                                    " is being recorded; merge it once it has ended");
        }
    }
    std::stable_sort(wanted.begin(), wanted.end(), [](const Wanted& a, const Wanted& b) {
        return a.session.started_wall_ns < b.session.started_wall_ns;
    });
    return wanted;
}

int run_merge(const MergeOptions& o) {
    const std::string target_path = resolve_db(o.db);
    if (o.sources.size() > 1 && !o.sessions.empty()) {
        std::cerr << "mastotape merge: --session picks sessions of one SOURCE; name one\n";
        return kExitUsage;
    }
    std::vector<std::unique_ptr<ReadTape>> tapes;
    for (const auto& source : o.sources) {
        if (same_file(source, target_path)) {
            throw schema::TapeError(source + ": cannot merge a tape into itself");
        }
        tapes.push_back(std::make_unique<ReadTape>(source));
    }
    const auto wanted = wanted_sessions(o, tapes);
    TapeTarget target(target_path, o.compression);
    std::int64_t merged = 0;
    std::int64_t skipped = 0;
    std::int64_t rejoined = 0;
    for (const auto& w : wanted) {
        const schema::Session& s = w.session;  // (lambdas below: clang 14 captures no bindings)
        const std::string& source_path = o.sources[w.source];
        schema::TapeStore& source = **tapes[w.source];
        const auto there = target.store().sessions();
        // A session already there (the same recorded start, end and source) is not copied twice.
        const auto same = std::find_if(there.begin(), there.end(), [&](const auto& t) {
            return t.started_wall_ns == s.started_wall_ns && t.source == s.source &&
                   t.ended_offset_ns == s.ended_offset_ns;
        });
        if (same != there.end()) {
            std::cout << "session " << s.id << " of " << source_path << " is already session "
                      << same->id << " of " << target_path << ": skipped\n";
            ++skipped;
            continue;
        }
        // The next file of a rotation goes on in the session it continues.
        const auto earlier = std::find_if(there.begin(), there.end(), [&](const auto& t) {
            return schema::continues(t, s, source_path);
        });
        if (earlier != there.end()) {
            schema::rejoin_rotation(target.store(), earlier->id, source, s.id);
            std::cout << "session " << s.id << " of " << source_path << " continues session "
                      << earlier->id << " of " << target_path << " (--rotate): rejoined\n";
            ++rejoined;
            continue;
        }
        JsonlTransit copy(target_path, "merge");
        schema::export_session(source, s.id, copy.out());
        const std::int64_t id =
            copy.import_into(target.store(), source_path + " session " + std::to_string(s.id));
        std::cout << "session " << s.id << " of " << source_path << " is now session " << id
                  << " of " << target_path << '\n';
        ++merged;
    }
    target.finish();
    std::cout << "merged " << merged << " session" << (merged == 1 ? "" : "s") << ", skipped "
              << skipped;
    if (rejoined > 0) {
        std::cout << ", rejoined " << rejoined << " rotated file" << (rejoined == 1 ? "" : "s");
    }
    std::cout << '\n';
    return kExitOk;
}

}  // namespace

void add_merge_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<MergeOptions>();
    auto* sub = app.add_subcommand(
        "merge",
        "Copy sessions from other tapes into this one (--db), with new ids, oldest first; each "
        "session whole or not at all, one already here skipped, the next file of a rotation "
        "(--rotate) rejoined to the session it continues; the sources are never changed");
    sub->add_option("SOURCE", o->sources,
                    "The tapes to copy from (several: a rotated archive's files, in any order)")
        ->required();
    sub->add_option("--session", o->sessions, "A session of SOURCE (repeatable; default: all)");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->callback([o, &run] { run = [o] { return run_merge(*o); }; });
}

}  // namespace mastotape::tools
