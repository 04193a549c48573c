// `mastotape compact` (issue 21): a tape rewritten into a new file, every session with its id,
// byte for byte, all or nothing; and --compress on the commands that write.

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <filesystem>

#include "schema/ops/synth.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

const char* const kFixtures[] = {"user-gaps", "hashtag-sse", "multiplexed", "public-deletes-edits",
                                 "direct"};

// No file in `dir` whose name starts with `prefix` but the ones named.
std::size_t files_starting(const TempDir& dir, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.file(""))) {
        n += e.path().filename().string().rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("compact copies every session with its id, byte for byte, into a smaller file") {
    TempDir dir;
    // Plain sessions (as a tape made before compression holds them), one per fixture, and a
    // synth session long enough to train its own dictionary.
    for (const char* name : kFixtures) {
        const auto r =
            run_mastotape("import --compress none --db plain.db " +
                              std::string(MASTOTAPE_SOURCE_DIR) + "/fixtures/" + name + ".jsonl",
                          dir);
        REQUIRE(r.exit_code == 0);
    }
    REQUIRE(run_mastotape("synth --compress none --db plain.db --events 5000 --stream public "
                          "--connection-ends eof -q",
                          dir)
                .exit_code == 0);
    const auto plain = dir.file("plain.db");
    const auto plain_bytes = read_file(plain);

    auto r = run_mastotape("compact --db plain.db small.db", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("compacted 6 sessions") && Catch::Contains("small.db"));
    const auto small = dir.file("small.db");
    for (std::int64_t id = 1; id <= 6; ++id) {
        INFO("session " << id);
        CHECK(exported(small, id) == exported(plain, id));
    }
    CHECK(read_file(plain) == plain_bytes);  // the input is never changed
    // Every event but a few 40-byte SSE deletes, which zstd would not make smaller.
    CHECK(
        scalar(small,
               "SELECT count(*) FROM frames WHERE kind = 'event' AND codec != 1 AND length > 40") ==
        0);
    CHECK(scalar(small, "SELECT count(*) FROM dictionaries WHERE session_id = 6") == 1);
    CHECK(std::filesystem::file_size(small) * 3 < std::filesystem::file_size(plain));
    CHECK(run_mastotape("verify --db small.db", dir).exit_code == 0);

    // And back: --compress none stores every row plain again, the same bytes.
    REQUIRE(
        run_mastotape("compact --db small.db --compress none plain-again.db -q", dir).exit_code ==
        0);
    const auto again = dir.file("plain-again.db");
    CHECK(scalar(again, "SELECT count(*) FROM frames WHERE codec != 0") == 0);
    CHECK(exported(again, 6) == exported(plain, 6));
}

TEST_CASE("compact writes nothing over a file, and nothing at all from a damaged tape") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --db t.db --events 200 -q", dir).exit_code == 0);
    write_file(dir.file("taken.db"), "mine");
    auto r = run_mastotape("compact --db t.db taken.db", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("taken.db: exists"));
    CHECK(read_file(dir.file("taken.db")) == "mine");

    {
        SQLite::Database db(dir.file("t.db"), SQLite::OPEN_READWRITE);
        db.exec("UPDATE frames SET checksum = checksum + 1 WHERE seq = 150");
    }
    r = run_mastotape("compact --db t.db out.db", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("frame 150 of session 1 is damaged") &&
                          Catch::Contains("mastotape verify"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(files_starting(dir, "out.db") == 0);  // not even its .partial file

    r = run_mastotape("compact --db t.db --compress lz4 out.db", dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--compress: must be zstd, zstd:LEVEL"));
}

TEST_CASE("Every command that writes frames takes --compress") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --db t.db --events 100 --compress none -q", dir).exit_code == 0);
    CHECK(scalar(dir.file("t.db"), "SELECT count(*) FROM frames WHERE codec != 0") == 0);
    REQUIRE(run_mastotape("synth --db t.db --events 100 --compress zstd:19 -q", dir).exit_code ==
            0);
    CHECK(scalar(dir.file("t.db"),
                 "SELECT count(*) FROM frames WHERE session_id = 2 AND kind = "
                 "'event' AND codec != 1") == 0);
    REQUIRE(run_mastotape("export 2 --db t.db -o s.jsonl", dir).exit_code == 0);
    REQUIRE(run_mastotape("import s.jsonl --db t.db --compress none", dir).exit_code == 0);
    CHECK(scalar(dir.file("t.db"),
                 "SELECT count(*) FROM frames WHERE session_id = 3 AND codec "
                 "!= 0") == 0);
    CHECK(exported(dir.file("t.db"), 3) == exported(dir.file("t.db"), 2));
    for (const char* command : {"record", "synth", "import", "cut", "redact", "merge", "compact"}) {
        INFO(command);
        CHECK_THAT(run_mastotape(std::string(command) + " --help", dir).out,
                   Catch::Contains("--compress"));
    }
}
