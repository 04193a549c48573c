// The systemd template unit (issue 23): systemd-analyze accepts it without a warning, and its
// ExecStart line, with systemd's specifiers filled in, records from a replayer until the unit's
// KillSignal stops it cleanly.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "tests/test_support.hpp"

using namespace mastotape::test;

namespace {

const std::string kUnit =
    std::string(MASTOTAPE_SOURCE_DIR) + "/tools/integrations/systemd/mastotape-record@.service.in";

}  // namespace

TEST_CASE("The systemd unit passes systemd-analyze verify without a warning") {
    if (!std::filesystem::exists("/usr/bin/systemd-analyze")) {
        WARN("systemd-analyze is not installed: the unit was not verified");
        return;
    }
    TempDir dir;
    // The unit names @BINDIR@/mastotape, filled in when installed; verify checks that it is
    // executable: point it at ours.
    const RunResult r =
        run_bash("sed 's|@BINDIR@/mastotape|" + std::string(MASTOTAPE_BINARY) + "|' '" + kUnit +
                     "' > 'mastotape-record@archive.service'\n"
                     "systemd-analyze verify --man=no \"$PWD/mastotape-record@archive.service\"\n",
                 dir);
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    // Sandboxed: what is left is the network a recorder needs.
    const RunResult security = run_bash(
        "systemd-analyze security --offline=true mastotape-record@archive.service 2>&1 |"
        " sed -n 's/.*Overall exposure level for [^:]*: \\([0-9.]*\\).*/\\1/p'\n",
        dir);
    INFO(security.out);
    REQUIRE_FALSE(security.out.empty());
    CHECK(std::stod(security.out) <= 3.0);
}

TEST_CASE("The systemd unit's command records until its KillSignal stops it cleanly") {
    TempDir dir;
    // ExecStart with systemd's specifiers (%S state root, %d credentials, %i instance) and the
    // EnvironmentFile's variables filled in; KillSignal is what stops it.
    const RunResult r = run_bash(
        "set -e\n"
        "line=$(sed -n 's/^ExecStart=//p' '" +
            kUnit +
            "')\n"
            "sig=$(sed -n 's/^KillSignal=SIG//p' '" +
            kUnit +
            "')\n"
            "eval \"$(sed -n 's/^Environment=//p' '" +
            kUnit +
            "')\"\n"
            "METRICS=127.0.0.1:0\n"
            "mkdir -p state/mastotape creds\n"
            "printf 'secret-UNIT-token' > creds/token\n"
            "'" +
            MASTOTAPE_BINARY +
            "' synth --db source.db --events 50 --rate 20 --stream public -q\n"
            "'" +
            MASTOTAPE_BINARY +
            "' replay source.db --hold --port-file port > replay.out 2>&1 &\n"
            "replay=$!\n"
            "for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done\n"
            "TARGET=ws://127.0.0.1:$(cat port)\n"
            "MASTOTAPE_OPTIONS='--stream public --no-discovery'\n"
            // %% is a % (the archive's strftime fields), after the specifiers are filled in.
            "line=${line//%%/@PERCENT@}\n"
            "line=${line//%S/$PWD/state}; line=${line//%d/$PWD/creds}; line=${line//%i/archive}\n"
            "line=${line//@PERCENT@/%}\n"
            "line=${line//@BINDIR@\\/mastotape/" +
            MASTOTAPE_BINARY +
            "}\n"
            // exec: the signal goes to the recorder, not to a shell around it.
            "eval \"exec $line\" 2> record.err &\n"
            "rec=$!\n"
            "for i in $(seq 100); do grep -q 'metrics at' record.err && break; sleep 0.05; done\n"
            "port=$(sed -n 's/.*metrics at http:..127.0.0.1:\\([0-9]*\\).*/\\1/p' record.err)\n"
            "sleep 1\n"
            "exec 3<>/dev/tcp/127.0.0.1/$port\n"
            "printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3\n"
            "head -1 <&3\n"
            "exec 3<&-\n"
            "kill -s \"$sig\" $rec\n"
            // Bounded: a recorder that ignored the signal fails the test instead of hanging it.
            "for i in $(seq 100); do kill -0 $rec 2> /dev/null || break; sleep 0.1; done\n"
            "kill -9 $rec 2> /dev/null || true\n"
            "status=0; wait $rec || status=$?\n"
            "kill $replay; wait $replay || true\n"
            "echo \"exit $status\"\n"
            "'" +
            MASTOTAPE_BINARY +
            "' sessions --db state/mastotape/archive/$(date +%Y-%m-%d).db\n"
            "ls -l state/mastotape/archive\n"
            "! grep -r secret-UNIT-token state record.err\n",
        dir);
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("exit 0") && Catch::Contains("ended") &&
                          Catch::Contains("HTTP/1.1 200 OK") && Catch::Contains("-r--r--r--"));
}
