// `mastotape merge` (issue 19): sessions of one tape into another, ids remapped, byte for byte,
// each whole or not at all, idempotent, the source never changed.

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <sstream>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/synth.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

void synth_into(const std::string& db, std::uint64_t seed, std::int64_t events) {
    schema::TapeStore store(db, schema::OpenMode::create);
    schema::SynthOptions so;
    so.seed = seed;
    so.events = events;
    so.connection_ends = {"eof"};
    schema::synthesize(store, so);
}

std::size_t sessions_in(const std::string& db) {
    schema::TapeStore store(db, schema::OpenMode::read);
    return store.sessions().size();
}

}  // namespace

TEST_CASE("merge copies sessions byte for byte with new ids, and only once") {
    TempDir dir;
    const std::string a = dir.file("a.db");
    const std::string b = dir.file("b.db");
    synth_into(a, 1, 50);
    synth_into(b, 2, 60);
    synth_into(b, 3, 70);
    const std::string b_bytes = read_file(b);

    auto r = run_mastotape("merge b.db --db a.db", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("session 1 of b.db is now session 2 of a.db") &&
                          Catch::Contains("session 2 of b.db is now session 3 of a.db") &&
                          Catch::Contains("merged 2 sessions, skipped 0"));
    CHECK(sessions_in(a) == 3);
    CHECK(exported(a, 2) == exported(b, 1));
    CHECK(exported(a, 3) == exported(b, 2));
    CHECK(read_file(b) == b_bytes);  // the source is never changed
    CHECK(run_mastotape("verify --db a.db", dir).exit_code == 0);

    // Again: nothing new.
    r = run_mastotape("merge b.db --db a.db", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("session 1 of b.db is already session 2 of a.db: skipped") &&
                          Catch::Contains("merged 0 sessions, skipped 2"));
    CHECK(sessions_in(a) == 3);

    // One session, into a tape that does not exist yet.
    r = run_mastotape("merge b.db --session 2 --db new.db", dir);
    REQUIRE(r.exit_code == 0);
    CHECK(sessions_in(dir.file("new.db")) == 1);
    CHECK(exported(dir.file("new.db"), 1) == exported(b, 2));
}

TEST_CASE("merge refuses in one line what it cannot do, and changes nothing") {
    TempDir dir;
    const std::string a = dir.file("a.db");
    const std::string b = dir.file("b.db");
    synth_into(a, 1, 50);
    synth_into(b, 2, 60);
    const std::string a_bytes = read_file(a);
    auto r = run_mastotape("merge a.db --db a.db", dir);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "mastotape: a.db: cannot merge a tape into itself\n");
    r = run_mastotape("merge b.db --session 9 --db a.db", dir);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "mastotape: b.db: no session 9\n");
    r = run_mastotape("merge missing.db --db a.db", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("mastotape: ") && Catch::EndsWith("\n"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    {
        SQLite::Database db(b, SQLite::OPEN_READWRITE);
        db.exec("PRAGMA user_version = 99");
    }
    r = run_mastotape("merge b.db --db a.db", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("newer"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(read_file(a) == a_bytes);
    CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));
}
