// Rotation (--rotate) against the replayer on loopback: files that name each other, each sound,
// rejoined by merge into the session an unrotated recording of the same replay makes; retention.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <sstream>

#include "record/recorder.hpp"
#include "replay/replay_server.hpp"
#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/synth.hpp"
#include "schema/ops/tape_diff.hpp"
#include "schema/ops/tape_rejoin.hpp"
#include "schema/tape/session_settings.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::RunningReplay;
using mastotape::test::TempDir;

namespace {

constexpr std::int64_t kEvents = 6000;

// A tape of kEvents with two disconnects, replayed as fast as the recorder reads.
replay::ReplayOptions fast_replay_of(const TempDir& dir) {
    schema::SynthOptions so;
    so.events = kEvents;
    so.rate = 1000;
    so.connection_ends = {"eof", "reset"};
    replay::ReplayOptions ro;
    ro.tape = test::make_tape(dir, so, "source.db");
    ro.clock = replay::ClockMode::max_speed;
    return ro;
}

// A recording of `url` into `db` that stops at the tape's end. At --max-speed the replay's REST
// timelines reach as far as its clock has run, which is timing: the backfill limit is set past
// the whole tape, so that every gap's backfill ends the same way in every run.
record::RecordOptions whole_tape(const std::string& url, const std::string& db) {
    auto r = test::loopback_recorder(url, db);
    r.max_events = kEvents;
    r.backfill_limit = 2 * kEvents;
    return r;
}

// A rotating recording of `url` into DIR/arch/, a file every couple of batches.
record::RecordOptions rotating(const std::string& url, const TempDir& dir) {
    auto r = whole_tape(url, dir.file("arch/%Y-%m-%d.db"));
    r.batch_records = 200;
    r.rotation = {record::RotationPolicy::Every::size, 16 * 1024};  // each commit or so
    return r;
}

struct ArchiveFile {
    std::string path;
    schema::Session session;
    schema::SessionSettings settings;
    std::int64_t last_seq = 0;
};

// The archive's files in the order the recording wrote them, following the links.
std::vector<ArchiveFile> chain_of(const record::ArchiveFiles& archive) {
    std::vector<ArchiveFile> files;
    for (const auto& f : archive.files()) {
        schema::TapeStore store(f.path, schema::OpenMode::read);
        const auto s = store.session(store.newest_session_id());
        files.push_back({f.path, s, schema::SessionSettings::from_json(s.settings_json),
                         store.counts(s.id).last_seq});
    }
    std::vector<ArchiveFile> chain;
    for (const auto& f : files) {
        if (!f.settings.rotated_from) {
            chain.push_back(f);
        }
    }
    REQUIRE(chain.size() == 1);
    while (chain.back().settings.rotated_to) {
        const auto next = std::filesystem::path(chain.back().path).parent_path() /
                          chain.back().settings.rotated_to->file;
        const auto it = std::find_if(files.begin(), files.end(),
                                     [&](const auto& f) { return f.path == next.string(); });
        REQUIRE(it != files.end());
        chain.push_back(*it);
    }
    return chain;
}

// One session of `chain`'s files rejoined in a new tape at `path`, as `merge` does.
std::int64_t rejoined(const std::vector<ArchiveFile>& chain, const std::string& path) {
    schema::TapeStore to(path, schema::OpenMode::create);
    std::int64_t id = 0;
    for (const auto& f : chain) {
        schema::TapeStore from(f.path, schema::OpenMode::read);
        if (id == 0) {
            std::stringstream jsonl;
            schema::export_session(from, f.session.id, jsonl);
            id = schema::import_jsonl(to, jsonl, f.path);
            continue;
        }
        REQUIRE(schema::continues(to.session(id), f.session, f.path));
        schema::rejoin_rotation(to, id, from, f.session.id);
    }
    return id;
}

}  // namespace

TEST_CASE("A rotated recording's files name each other, and rejoined equal an unrotated one") {
    TempDir dir;
    const auto ro = fast_replay_of(dir);
    std::vector<std::string> finished;
    std::mutex finished_mutex;
    {
        RunningReplay replay(ro);
        auto r = rotating(replay.url(), dir);
        r.finish_file = [&](const std::string& path) {
            const std::lock_guard lock(finished_mutex);
            finished.push_back(path);
            ::chmod(path.c_str(), 0444);
            return "made read-only";
        };
        record::Recorder recorder(r);
        REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
    }
    const record::ArchiveFiles archive(dir.file("arch/%Y-%m-%d.db"), {}, {});
    const auto chain = chain_of(archive);
    REQUIRE(chain.size() >= 3);  // (a rotation waits while a gap is open or backfilling)
    // Every file closed (the last one when the recording stopped) went through the hook once.
    CHECK(finished.size() == chain.size());
    for (std::size_t k = 0; k < chain.size(); ++k) {
        INFO(chain[k].path);
        schema::TapeStore store(chain[k].path, schema::OpenMode::read);
        CHECK(schema::verify_tape(store, false, 0).clean());
        CHECK(std::find(finished.begin(), finished.end(), chain[k].path) != finished.end());
        if (k + 1 == chain.size()) {
            CHECK(chain[k].session.end_reason == schema::SessionEnd::count);
            continue;
        }
        const auto& next = chain[k + 1];
        CHECK(chain[k].session.end_reason == schema::SessionEnd::rotated);
        CHECK(store.connections(chain[k].session.id).back().end_cause == schema::EndCause::rotated);
        CHECK(chain[k].settings.rotated_to ==
              schema::RotationLink{std::filesystem::path(next.path).filename().string(),
                                   next.session.id, 1});
        CHECK(next.settings.rotated_from ==
              schema::RotationLink{std::filesystem::path(chain[k].path).filename().string(),
                                   chain[k].session.id, chain[k].last_seq});
        CHECK(chain[k].session.ended_wall_ns == next.session.started_wall_ns);
    }

    const std::int64_t merged_id = rejoined(chain, dir.file("merged.db"));
    schema::TapeStore merged(dir.file("merged.db"), schema::OpenMode::read);
    CHECK(schema::verify_tape(merged, false, 0).clean());
    CHECK(merged.connections(merged_id).size() == 3);  // the rotations left no trace

    // The same replay recorded without rotation.
    {
        RunningReplay replay(ro);
        record::Recorder recorder(whole_tape(replay.url(), dir.file("plain.db")));
        REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
    }
    schema::TapeStore plain(dir.file("plain.db"), schema::OpenMode::read);
    schema::DiffOptions d;
    d.ignore = {"timing"};  // read as fast as the recorder could, twice
    const auto verdict = schema::diff_sessions(merged, merged_id, plain, 1, d);
    INFO(verdict.summary(d));
    for (const auto& line : verdict.reported) {
        UNSCOPED_INFO(line);
    }
    CHECK(verdict.equal());
    CHECK(verdict.frames > kEvents);  // and the heartbeats
    schema::TapeStore source(ro.tape, schema::OpenMode::read);
    const auto from_source = schema::diff_sessions(source, 1, merged, merged_id, d);
    for (const auto& line : from_source.reported) {
        UNSCOPED_INFO(line);
    }
    CHECK(from_source.equal());
}

TEST_CASE("Retention keeps the newest closed files and deletes the rest") {
    TempDir dir;
    const auto ro = fast_replay_of(dir);
    RunningReplay replay(ro);
    auto r = rotating(replay.url(), dir);
    r.retention.files = 2;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
    const record::ArchiveFiles archive(dir.file("arch/%Y-%m-%d.db"), {}, {});
    const auto left = archive.files();
    REQUIRE(left.size() == 2);
    // What is left is the end of the recording: the last file, and the one before it.
    schema::TapeStore last(left.back().path, schema::OpenMode::read);
    const auto s = last.session(1);
    CHECK(s.end_reason == schema::SessionEnd::count);
    const auto from = schema::SessionSettings::from_json(s.settings_json).rotated_from;
    REQUIRE(from.has_value());
    CHECK(std::filesystem::path(left.front().path).filename() == from->file);
}
