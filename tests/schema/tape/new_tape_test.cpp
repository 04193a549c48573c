// A new tape is written beside its path and renamed into place whole.

#include "schema/tape/new_tape.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::TempDir;

namespace {

std::vector<std::string> names_in(const TempDir& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::int64_t add_session(schema::TapeStore& store) {
    schema::Session s;
    s.source = "test";
    return store.create_session(s);
}

}  // namespace

TEST_CASE("A new tape appears at its path only when finished, as a WAL tape") {
    TempDir dir;
    const auto path = dir.file("new.db");
    schema::NewTape tape(path);
    const auto id = add_session(tape.store());
    CHECK_FALSE(std::filesystem::exists(path));  // written under its scratch name meanwhile
    REQUIRE(names_in(dir).size() == 1);
    CHECK_THAT(names_in(dir)[0], Catch::StartsWith("new.db.partial-"));
    tape.finish();
    CHECK(names_in(dir) == std::vector<std::string>{"new.db"});
    schema::TapeStore store(path, schema::OpenMode::read);
    CHECK(store.session(id).source == "test");
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(store.integrity_problems().empty());
}

TEST_CASE("A new tape left unfinished leaves nothing behind") {
    TempDir dir;
    {
        schema::NewTape tape(dir.file("new.db"));
        add_session(tape.store());
    }
    CHECK(names_in(dir).empty());
}

TEST_CASE("A new tape never replaces a file: one already there, or one that appears meanwhile") {
    TempDir dir;
    const auto path = dir.file("taken.db");
    std::ofstream(path) << "someone else's";
    CHECK_THROWS_AS(schema::NewTape(path), schema::TapeError);

    const auto late = dir.file("late.db");
    schema::NewTape tape(late);
    add_session(tape.store());
    std::ofstream(late) << "appeared";
    try {
        tape.finish();
        FAIL("finish replaced a file that appeared meanwhile");
    } catch (const schema::TapeError& e) {
        CHECK_THAT(e.what(), Catch::StartsWith(late + ": cannot put the new tape in place"));
        CHECK_THAT(e.what(), Catch::Contains("late.db.partial-"));
    }
    std::ifstream in(late);
    std::string text;
    std::getline(in, text);
    CHECK(text == "appeared");
    // The finished tape is kept under its scratch name, as the error said.
    std::string partial;
    for (const auto& name : names_in(dir)) {
        if (name.rfind("late.db.partial-", 0) == 0) {
            partial = dir.file(name);
        }
    }
    REQUIRE(!partial.empty());
    schema::TapeStore kept(partial, schema::OpenMode::read);
    CHECK(kept.sessions().size() == 1);
}

TEST_CASE("What killed writers left beside a tape is removed, but not a live writer's file") {
    TempDir dir;
    // A pid no process has: a child that has exited and been reaped.
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(0);
    }
    REQUIRE(child > 0);
    ::waitpid(child, nullptr, 0);
    const std::string dead = std::to_string(child);
    const std::string alive = std::to_string(::getpid());
    for (const std::string& name : {"t.db.partial-" + dead, "t.db.partial-" + dead + "-wal",
                                    "t.db.partial-" + alive, "t.db.cut-" + dead + ".jsonl",
                                    std::string("t.db.partial-x"), "other.db.partial-" + dead}) {
        std::ofstream(dir.file(name)) << "x";
    }
    CHECK(schema::remove_dead_leftovers(dir.file("t.db"), ".partial-", "") == 2);
    CHECK(schema::remove_dead_leftovers(dir.file("t.db"), ".cut-", ".jsonl") == 1);
    CHECK(names_in(dir) == std::vector<std::string>{"other.db.partial-" + dead,
                                                    "t.db.partial-" + alive, "t.db.partial-x"});
}
