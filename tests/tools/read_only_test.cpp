// Every reader on a tape on a read-only mount (issue 16, item 16): before, each one failed with
// "cannot open", since SQLite could not make the WAL's shared-memory file beside the tape.

#include <catch2/catch.hpp>

#include "tests/test_support.hpp"

using mastotape::test::read_file;
using mastotape::test::run_mastotape;
using mastotape::test::TempDir;
using mastotape::test::write_file;

TEST_CASE("Every reader reads a tape on a read-only mount, and says it read it immutable") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --db t.db --events 20 -q", dir).exit_code == 0);
    const std::string bin = MASTOTAPE_BINARY;
    const std::string ro = dir.file("ro");
    // A private read-only tmpfs, mounted in a user and mount namespace of its own.
    const std::string script =
        "set -e; mkdir -p '" + ro + "'; mount -t tmpfs none '" + ro + "'; cp t.db '" + ro +
        "/'; mount -o remount,ro '" + ro + "'; echo mounted > mounted; set +e; T='" + ro +
        "/t.db'; B='" + bin +
        "'; for c in sessions show stats verify export; do \"$B\" $c --db \"$T\" > out.$c 2> "
        "err.$c; echo $? > rc.$c; done; \"$B\" diff --db \"$T\" 1 \"$T\" > out.diff 2> err.diff; "
        "echo $? > rc.diff; \"$B\" replay \"$T\" --exit-when-done --idle-timeout 0.3 > out.replay "
        "2> err.replay; echo $? > rc.replay";
    write_file(dir.file("ro.sh"), script);
    const int status =
        std::system(("cd '" + dir.path().string() + "' && unshare -r -m sh ro.sh").c_str());
    if (read_file(dir.file("mounted")).empty()) {
        WARN("no private mount namespace here (unshare -r -m failed): not tested");
        return;
    }
    CHECK(status == 0);
    for (const char* c : {"sessions", "show", "stats", "verify", "export", "diff"}) {
        INFO(c << ": " << read_file(dir.file(std::string("err.") + c)));
        CHECK(read_file(dir.file(std::string("rc.") + c)) == "0\n");
        CHECK_THAT(read_file(dir.file(std::string("err.") + c)),
                   Catch::Contains("on a read-only location: read as an immutable file"));
    }
    CHECK_THAT(read_file(dir.file("out.verify")), Catch::Contains("clean"));
    CHECK_THAT(read_file(dir.file("out.sessions")), Catch::Contains("synth seed 1"));
    // The replayer opened it and served (nobody came, so it ends on its idle timeout).
    CHECK_THAT(read_file(dir.file("err.replay")),
               Catch::Contains("no client connected within the idle timeout"));
}
