// What the commands say when the input is bad (issue 16, item 17): one line, naming the user's
// file, with advice that fits.

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/test_support.hpp"

using mastotape::test::read_file;
using mastotape::test::run_mastotape;
using mastotape::test::TempDir;
using mastotape::test::write_file;

namespace {

std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("A damaged tape gets one line, whatever the damage") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --db t.db --events 20 -q", dir).exit_code == 0);
    SECTION("a negative format version (was std::bad_alloc or 'table sessions already exists')") {
        SQLite::Database(dir.file("t.db"), SQLite::OPEN_READWRITE).exec("PRAGMA user_version=-1");
        const auto r = run_mastotape("sessions --db t.db", dir);
        CHECK(r.exit_code == 1);
        CHECK(r.err == "mastotape: t.db: not a mastotape tape (its format version is -1)\n");
    }
    SECTION("a schema whose SQL is broken (was its SQL over many lines)") {
        {
            SQLite::Database db(dir.file("t.db"), SQLite::OPEN_READWRITE);
            db.exec("PRAGMA writable_schema=ON");
            db.exec(
                "UPDATE sqlite_master SET sql = 'CREATE TABLE frames (\n  a,\n  b,\n  ))))' "
                "WHERE name = 'frames'");
        }
        const auto r = run_mastotape("stats --db t.db", dir);
        CHECK(r.exit_code == 1);
        CHECK(lines(r.err) == 1);
        CHECK_THAT(r.err, Catch::Contains("corrupt tape"));
    }
    SECTION("verify on a corrupt tape does not advise running verify") {
        const auto path = dir.file("t.db");
        std::filesystem::resize_file(path, std::filesystem::file_size(path) - 16384);  // a page
        const auto r = run_mastotape("verify --db t.db", dir);
        CHECK(r.exit_code == 1);
        CHECK(lines(r.err) == 1);
        CHECK_THAT(r.err, !Catch::Contains("mastotape verify"));
        CHECK_THAT(r.err,
                   Catch::Contains("`sqlite3 t.db .recover` may save what is still readable"));
    }
}

TEST_CASE("Replaying a JSONL tape names the user's file, not the temporary tape") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --db t.db --events 5 -q", dir).exit_code == 0);
    REQUIRE(run_mastotape("export --db t.db -o t.jsonl", dir).exit_code == 0);
    const std::string text = read_file(dir.file("t.jsonl"));
    write_file(dir.file("header-only.jsonl"), text.substr(0, text.find('\n') + 1));
    const auto r = run_mastotape("replay header-only.jsonl", dir);
    CHECK(r.exit_code == 1);
    CHECK(r.err ==
          "mastotape: header-only.jsonl: session 1 has no established connection to replay\n");
}

TEST_CASE("record refuses a token place its transport cannot carry") {
    TempDir dir;
    const auto r = run_mastotape(
        "record ws://127.0.0.1:9 --db r.db --transport sse --token-in subprotocol", dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--token-in subprotocol is for WebSocket"));
    CHECK_FALSE(std::filesystem::exists(dir.file("r.db")));
}

TEST_CASE("Control characters from a JSONL file reach the terminal escaped") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --db t.db --events 5 -q", dir).exit_code == 0);
    REQUIRE(run_mastotape("export --db t.db -o t.jsonl", dir).exit_code == 0);
    std::string text = read_file(dir.file("t.jsonl"));
    const auto at = text.find("\"type\":\"connection\"");
    REQUIRE(at != std::string::npos);
    text.replace(at, 19, "\"type\":\"\\u001b[2Jx\"");
    write_file(dir.file("evil.jsonl"), text);
    const auto r = run_mastotape("import --db u.db evil.jsonl", dir);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find('\x1b') == std::string::npos);
    CHECK_THAT(r.err, Catch::Contains("unknown record type \"\\x1b[2Jx\""));
}
