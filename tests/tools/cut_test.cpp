// `mastotape cut` (issue 19): a slice of a session into a new session, the gap it is about kept
// whole, times rebased, a connection cut at either end made whole again, the input untouched.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/synth.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

TEST_CASE("cut --around-gap keeps the gap whole with its attempts and backfill, rebased") {
    TempDir dir;
    const std::string db = dir.file("mastotape.db");
    {
        schema::TapeStore store(db, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 300;
        so.rate = 10;
        so.connection_ends = {"eof", "close"};
        so.failed_attempts = 2;
        schema::synthesize(store, so);
    }
    const std::string before = exported(db, 1);
    const auto r = run_mastotape("cut --around-gap 1 --before 3 --after 3", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("cut session 1 (") && Catch::Contains("as session 2: ") &&
                          Catch::Contains(" 1 gaps, "));
    CHECK(exported(db, 1) == before);  // the input is never changed
    CHECK(run_mastotape("verify", dir).exit_code == 0);

    schema::TapeStore store(db, schema::OpenMode::read);
    const schema::Gap gap = store.gaps(1).at(1);
    std::int64_t fetched = 0;
    std::vector<schema::BackfillItem> gap_items;
    for (const auto& b : store.backfill(1)) {
        if (b.gap_idx == 1) {
            gap_items.push_back(b);
            fetched = std::max(fetched, b.offset_ns);
        }
    }
    const std::int64_t lo = gap.start_offset_ns - 3'000'000'000;
    const std::int64_t hi = std::max(*gap.end_offset_ns + 3'000'000'000, fetched);
    // The gap, rebased, and the attempts that failed in it.
    const auto cut_gaps = store.gaps(2);
    REQUIRE(cut_gaps.size() == 1);
    CHECK(cut_gaps[0].idx == 0);
    CHECK(cut_gaps[0].start_offset_ns == gap.start_offset_ns - lo);
    CHECK(*cut_gaps[0].end_offset_ns == *gap.end_offset_ns - lo);
    CHECK(cut_gaps[0].cause == gap.cause);
    std::size_t failed = 0;
    for (const auto& c : store.connections(1)) {
        failed += !c.handshake_offset_ns && c.started_offset_ns > gap.start_offset_ns &&
                  c.started_offset_ns < *gap.end_offset_ns;
    }
    std::size_t cut_failed = 0;
    for (const auto& c : store.connections(2)) {
        cut_failed += !c.handshake_offset_ns;
    }
    CHECK(failed == 2);
    CHECK(cut_failed == failed);
    // Its backfill, whole.
    const auto cut_items = store.backfill(2);
    REQUIRE(cut_items.size() == gap_items.size());
    for (std::size_t i = 0; i < gap_items.size(); ++i) {
        CHECK(cut_items[i].object_id == gap_items[i].object_id);
        CHECK(cut_items[i].body == gap_items[i].body);
        CHECK(cut_items[i].offset_ns == gap_items[i].offset_ns - lo);
    }
    // Every frame of the slice, byte for byte, renumbered, rebased, wall times kept.
    std::vector<schema::Frame> expected;
    for (const auto& f : frames_of(store, 1)) {
        if (f.offset_ns >= lo && f.offset_ns <= hi) {
            expected.push_back(f);
        }
    }
    const auto got = frames_of(store, 2);
    REQUIRE(got.size() == expected.size());
    REQUIRE_FALSE(got.empty());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].seq == static_cast<std::int64_t>(i + 1));
        CHECK(got[i].bytes == expected[i].bytes);
        CHECK(got[i].offset_ns == expected[i].offset_ns - lo);
        CHECK(got[i].wall_ns == expected[i].wall_ns);
    }
    const auto s = store.session(2);
    CHECK(s.started_wall_ns == store.session(1).started_wall_ns + lo);
    CHECK(*s.ended_offset_ns == hi - lo);
}

TEST_CASE("cut in the middle of a connection opens it at the cut with its subscriptions") {
    TempDir dir;
    const std::string db = import_fixture(dir, "multiplexed");
    const auto r = run_mastotape("cut --db multiplexed.db --from 20 --to 50 --out slice.db", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(run_mastotape("verify --db slice.db", dir).exit_code == 0);
    schema::TapeStore store(dir.file("slice.db"), schema::OpenMode::read);
    const auto conns = store.connections(1);
    REQUIRE(conns.size() == 1);
    CHECK(conns[0].started_offset_ns == 0);
    CHECK(conns[0].handshake_offset_ns == 0);
    CHECK(conns[0].http_status == 101);
    CHECK(conns[0].end_cause == schema::EndCause::local_stop);
    CHECK(conns[0].close_code == 1000);
    CHECK(*conns[0].ended_offset_ns == 30'000'000'000);
    // The four subscribes it depends on, at the cut; pongs from before it are not; the close a
    // stopping recorder sends, at the end.
    const auto messages = store.client_messages(1);
    REQUIRE(messages.size() >= 5);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(messages[i].kind == schema::MessageKind::text);
        CHECK_THAT(messages[i].bytes, Catch::Contains("\"subscribe\""));
        CHECK(messages[i].offset_ns == 0);
    }
    CHECK(messages.back().kind == schema::MessageKind::close);
    CHECK(messages.back().bytes == std::string("\x03\xe8", 2));
    CHECK(messages.back().offset_ns == 30'000'000'000);
    // The frames of the range, after the error that answered the subscribe to an unknown
    // stream (moved to the cut with it).
    schema::TapeStore original(db, schema::OpenMode::read);
    std::vector<std::string> expected;
    for (const auto& f : frames_of(original, 1)) {
        if (f.columns.kind == schema::FrameKind::error ||
            (f.offset_ns >= 20'000'000'000 && f.offset_ns <= 50'000'000'000)) {
            expected.push_back(f.bytes);
        }
    }
    const auto got = frames_of(store, 1);
    REQUIRE(got.size() == expected.size());
    CHECK(got[0].columns.kind == schema::FrameKind::error);
    CHECK(got[0].offset_ns == 0);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].bytes == expected[i]);
    }
}

TEST_CASE("cut --event and --stream keep those event frames, and every heartbeat") {
    TempDir dir;
    import_fixture(dir, "multiplexed");
    const auto r = run_mastotape(
        "cut --db multiplexed.db --from 0 --event update,delete --stream hashtag --out f.db", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    schema::TapeStore original(dir.file("multiplexed.db"), schema::OpenMode::read);
    schema::TapeStore store(dir.file("f.db"), schema::OpenMode::read);
    std::size_t events = 0, others = 0;
    for (const auto& f : frames_of(original, 1)) {
        if (f.columns.kind != schema::FrameKind::event) {
            ++others;
        } else if (f.columns.stream->rfind("[\"hashtag\"", 0) == 0 &&
                   (*f.columns.event == "update" || *f.columns.event == "delete")) {
            ++events;
        }
    }
    std::size_t got_events = 0, got_others = 0;
    for (const auto& f : frames_of(store, 1)) {
        if (f.columns.kind == schema::FrameKind::event) {
            ++got_events;
            CHECK_THAT(*f.columns.stream, Catch::StartsWith("[\"hashtag\""));
        } else {
            ++got_others;
        }
    }
    CHECK(events > 0);
    CHECK(got_events == events);
    CHECK(got_others == others);
    CHECK(run_mastotape("verify --db f.db", dir).exit_code == 0);
}

TEST_CASE("cut says in one line what is wrong, and writes nothing") {
    TempDir dir;
    const std::string db = import_fixture(dir, "user-gaps");
    const std::string bytes = read_file(db);
    auto r = run_mastotape("cut --db user-gaps.db --around-gap 7", dir);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "mastotape: session 1 has no gap 7 (its gaps are 0 to 1)\n");
    r = run_mastotape("cut --db user-gaps.db --from 500 --to 600", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("is empty (session 1 lasts 144."));
    r = run_mastotape("cut --db user-gaps.db --around-gap 1 --from 3", dir);
    CHECK(r.exit_code == 2);
    r = run_mastotape("cut --db user-gaps.db --from-seq 9999", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("has no frame 9999"));
    CHECK(read_file(db) == bytes);
    CHECK_FALSE(std::filesystem::exists(dir.file("mastotape.db")));
    std::size_t left = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        left += e.path().string().find(".cut-") != std::string::npos;
    }
    CHECK(left == 0);
}
