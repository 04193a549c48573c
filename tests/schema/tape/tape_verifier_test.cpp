#include "schema/tape/tape_verifier.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include "schema/ops/synth.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::TempDir;

namespace {

bool mentions(const VerifyReport& r, const std::string& words) {
    for (const auto& p : r.problems) {
        if (p.find(words) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("A synthesized tape verifies clean") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 300;
    o.connection_ends = {"eof", "heartbeat-timeout"};
    synthesize(store, o);
    o.transport = Transport::sse;
    synthesize(store, o);
    const auto r = verify_tape(store, false, 0);
    CHECK(r.problems.empty());
    CHECK(r.sessions == 2);
    CHECK(r.frames > 600);
}

TEST_CASE("Verify finds tampered frames") {
    TempDir dir;
    const auto path = dir.file("t.db");
    {
        TapeStore store(path, OpenMode::create);
        SynthOptions o;
        o.events = 100;
        synthesize(store, o);
    }
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SECTION("a missing frame breaks the gapless seq") {
        db.exec("DELETE FROM frames WHERE seq = 50");
        TapeStore store(path, OpenMode::read);
        CHECK(mentions(verify_tape(store, false, 0), "frame seq jumps from 49 to 51"));
    }
    SECTION("a column that no longer matches the bytes") {
        db.exec("UPDATE frames SET event = 'delete' WHERE seq = 10");
        TapeStore store(path, OpenMode::read);
        CHECK(mentions(verify_tape(store, false, 0), "frame 10 columns"));
    }
    SECTION("an offset that goes backwards") {
        db.exec("UPDATE frames SET offset_ns = 0 WHERE seq = 20");
        TapeStore store(path, OpenMode::read);
        CHECK(mentions(verify_tape(store, false, 0), "frame 20 offset goes backwards"));
    }
    SECTION("a frame that names a connection that does not exist") {
        db.exec("UPDATE frames SET connection_idx = 9 WHERE seq = (SELECT max(seq) FROM frames)");
        TapeStore store(path, OpenMode::read);
        CHECK(mentions(verify_tape(store, false, 0), "names connection 9"));
    }
    SECTION("an offset past what a tape can hold") {
        db.exec("UPDATE frames SET offset_ns = 9223372036854775807 WHERE seq = 30");
        TapeStore store(path, OpenMode::read);
        CHECK(
            mentions(verify_tape(store, false, 0),
                     "frame 30 is at offset 9223372036854775807 ns, outside what a tape can hold"));
    }
    SECTION("a negative offset") {
        db.exec("UPDATE connections SET started_offset_ns = -5 WHERE idx = 0");
        TapeStore store(path, OpenMode::read);
        CHECK(mentions(verify_tape(store, false, 0), "connection 0's start is at offset -5 ns"));
    }
    SECTION("frames on a connection whose handshake never finished") {
        db.exec("UPDATE connections SET handshake_offset_ns = NULL WHERE idx = 0");
        TapeStore store(path, OpenMode::read);
        CHECK(mentions(verify_tape(store, false, 0), "whose handshake never finished"));
    }
}

TEST_CASE("Verify catches a gap that names a negative last frame") {
    TempDir dir;
    const auto path = dir.file("t.db");
    {
        TapeStore store(path, OpenMode::create);
        SynthOptions o;
        o.events = 50;
        o.connection_ends = {"reset"};
        synthesize(store, o);
    }
    SQLite::Database(path, SQLite::OPEN_READWRITE).exec("UPDATE gaps SET last_seq_before = -1");
    TapeStore store(path, OpenMode::read);
    CHECK(mentions(verify_tape(store, false, 0), "gap 0 names frame -1"));
}

TEST_CASE("An interrupted session is reported, and --repair closes it at its last record") {
    TempDir dir;
    const auto path = dir.file("t.db");
    std::int64_t last_offset = 0;
    {
        TapeStore store(path, OpenMode::create);
        SynthOptions o;
        o.events = 50;
        const auto id = synthesize(store, o);
        last_offset = *store.session(id).ended_offset_ns;
    }
    {
        // What a killed recorder leaves: no end on the session or its last connection.
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        db.exec(
            "UPDATE sessions SET ended_wall_ns = NULL, ended_offset_ns = NULL, end_reason = ''");
        db.exec(
            "UPDATE connections SET ended_offset_ns = NULL, ended_wall_ns = NULL, end_cause = '', "
            "close_code = NULL");
    }
    const std::int64_t later = 1'900'000'000'000'000'000;
    TapeStore store(path, OpenMode::write);
    CHECK(session_state(store.session(1), later) == SessionState::interrupted);
    const auto report = verify_tape(store, false, later);
    CHECK(mentions(report, "interrupted"));

    const auto repaired = verify_tape(store, true, later);
    CHECK(repaired.repairs.size() == 1);
    CHECK(repaired.clean());
    const auto s = store.session(1);
    CHECK(s.end_reason == SessionEnd::interrupted);
    CHECK(*s.ended_offset_ns <= last_offset);
    CHECK(*s.ended_offset_ns > 0);
    CHECK(store.connections(1).back().end_cause == EndCause::interrupted);
    CHECK(verify_tape(store, false, later).clean());
}
