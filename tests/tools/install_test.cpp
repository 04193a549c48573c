// Installing (issue 23): `cmake --install` puts the binary, its man pages, its bash completion
// and the README under a prefix; what is installed runs; --version says what it was built with;
// the completion completes.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "tests/test_support.hpp"

using namespace mastotape::test;

namespace {

// Runs `script` with bash in `dir`, which must succeed; its output.
std::string bash(const std::string& script, const TempDir& dir) {
    const RunResult r = run_bash(script, dir);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    return r.out;
}

// Installs the build into `prefix` with cmake --install.
void cmake_install(const std::string& prefix, const TempDir& dir) {
    bash(std::string("'") + MASTOTAPE_CMAKE + "' --install '" + MASTOTAPE_BUILD_DIR +
             "' --prefix '" + prefix + "' > /dev/null\n",
         dir);
}

// What an SSE client gets from `bin replay fixtures/direct.jsonl --max-speed` (its first 400
// bytes).
std::string replay_with(const std::string& bin, const TempDir& dir) {
    return bash("'" + bin + "' replay '" + MASTOTAPE_SOURCE_DIR +
                    "/fixtures/direct.jsonl' --max-speed --port-file port > replay.out 2>&1 &\n"
                    "pid=$!\n"
                    "for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done\n"
                    "port=$(cat port)\n"
                    "exec 3<>/dev/tcp/127.0.0.1/$port\n"
                    "printf 'GET /api/v1/streaming/direct HTTP/1.1\\r\\nHost: x\\r\\n"
                    "Authorization: Bearer t\\r\\n\\r\\n' >&3\n"
                    "timeout 10 cat <&3 | head -c 400\n"
                    "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f port; true\n",
                dir);
}

void check_played(const std::string& played) {
    CHECK_THAT(played, Catch::Contains("HTTP/1.1 200") && Catch::Contains("text/event-stream") &&
                           Catch::Contains("event: conversation"));
}

}  // namespace

TEST_CASE("cmake --install puts a working mastotape, its man pages and completion under a prefix") {
    TempDir dir;
    const std::string prefix = dir.file("prefix");
    cmake_install(prefix, dir);
    const std::string bin = prefix + "/bin/mastotape";
    REQUIRE(std::filesystem::exists(bin));
    CHECK(std::filesystem::exists(prefix + "/share/doc/mastotape/README.md"));
    CHECK(std::filesystem::exists(prefix + "/share/bash-completion/completions/mastotape"));
    // A page for mastotape and for each subcommand, each naming every option of its --help.
    const std::string subs = bash("'" + bin + "' completion subcommands\n", dir);
    CHECK_THAT(subs, Catch::Contains("record\n") && Catch::Contains("compact\n"));
    for (std::size_t at = 0, end; (end = subs.find('\n', at)) != std::string::npos; at = end + 1) {
        const std::string sub = subs.substr(at, end - at);
        INFO(sub);
        // Gzipped, as Debian ships them; roff with sections, not --help in no-fill mode.
        const std::string page =
            bash("gzip -dc '" + prefix + "/share/man/man1/mastotape-" + sub + ".1.gz'\n", dir);
        CHECK_THAT(page, Catch::StartsWith(".TH MASTOTAPE-"));
        for (const char* section :
             {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXAMPLES",
              ".SH EXIT STATUS", ".SH FILES", ".SH SEE ALSO"}) {
            CHECK_THAT(page, Catch::Contains(section));
        }
        CHECK_THAT(page, Catch::Contains("\\fB\\-\\-help\\fR"));
        CHECK_THAT(page, !Catch::Contains(".nf\n"));
    }
    const std::string replay =
        bash("gzip -dc '" + prefix + "/share/man/man1/mastotape-replay.1.gz'\n", dir);
    CHECK_THAT(replay, Catch::Contains("\\-\\-virtual\\-clock") && Catch::Contains("\\-\\-fault") &&
                           Catch::Contains("Clocks") && Catch::Contains("control API"));
    // Laid out by man for an 80-column terminal: no line runs over.
    if (std::filesystem::exists("/usr/bin/man")) {
        CHECK(bash("MANWIDTH=80 man -l '" + prefix +
                       "/share/man/man1/mastotape-replay.1.gz' 2> /dev/null | awk 'length > 80'\n",
                   dir)
                  .empty());
    }
    // The synopsis names the arguments.
    CHECK_THAT(replay, Catch::Contains(".B mastotape replay\n[\\fIOPTIONS\\fR] [\\fITAPE\\fR]"));

    const std::string version = bash("'" + bin + "' --version\n", dir);
    CHECK_THAT(version, Catch::StartsWith("mastotape 0.") && Catch::Contains("tape format 4") &&
                            Catch::Contains("Boost.Beast ") && Catch::Contains("SQLite 3.") &&
                            Catch::Contains("OpenSSL 3.") && Catch::Contains("zstd 1."));
    // The installed binary replays a fixture.
    check_played(replay_with(bin, dir));
}

TEST_CASE("cpack makes a .deb with computed Depends whose files run from a scratch root",
          "[package]") {
    TempDir dir;
    // cpack sits beside cmake.
    bash(std::string("cpack=\"$(dirname '") + MASTOTAPE_CMAKE + "')/cpack\"\n" + "cd '" +
             MASTOTAPE_BUILD_DIR + "' && \"$cpack\" -G DEB -B '" + dir.file("debs") + "' > '" +
             dir.file("cpack.log") + "' 2>&1 || { cat '" + dir.file("cpack.log") + "'; exit 1; }\n",
         dir);
    const std::string deb = dir.file("debs/mastotape_0.1.0_amd64.deb");
    REQUIRE(std::filesystem::exists(deb));
    CHECK(std::filesystem::exists(dir.file("debs/mastotape-dev_0.1.0_amd64.deb")));
    // dpkg-shlibdeps computed the Depends from the binary: every library it links, each a
    // package this machine has installed.
    const std::string depends = bash("dpkg-deb -f '" + deb + "' Depends\n", dir);
    INFO(depends);
    for (const char* package : {"libc6", "libstdc++6", "libsqlite3-0", "libssl3", "libzstd1"}) {
        CHECK_THAT(depends, Catch::Contains(std::string(package) + " (>="));
    }
    bash("dpkg-deb -f '" + deb +
             "' Depends | tr ',' '\\n' | sed 's/ *(.*//; s/^ *//' | grep . | "
             "xargs dpkg-query -W > /dev/null\n",
         dir);
    bash("dpkg -x '" + deb + "' root\n", dir);
    const std::string bin = dir.file("root/usr/bin/mastotape");
    CHECK_THAT(bash("'" + bin + "' --version\n", dir),
               Catch::StartsWith("mastotape 0.1.0") && Catch::Contains("tape format 4"));
    CHECK(std::filesystem::exists(dir.file("root/usr/share/man/man1/mastotape-replay.1.gz")));
    CHECK(
        std::filesystem::exists(dir.file("root/usr/share/bash-completion/completions/mastotape")));
    // Debian's copyright file, beside the README.
    CHECK_THAT(read_file(dir.file("root/usr/share/doc/mastotape/copyright")),
               Catch::StartsWith("Format: https://www.debian.org/doc/packaging-manuals/"
                                 "copyright-format/1.0/\nUpstream-Name: mastotape\n"));
    // The systemd unit ships with the tool, its ExecStart at the package's prefix.
    CHECK_THAT(read_file(dir.file("root/usr/lib/systemd/system/mastotape-record@.service")),
               Catch::Contains("\nExecStart=/usr/bin/mastotape record "));
    check_played(replay_with(bin, dir));
}

TEST_CASE("A CMake project finds the installed C++ package and replays a fixture in-process") {
    TempDir dir;
    const std::string prefix = dir.file("prefix");
    cmake_install(prefix, dir);
    CHECK(std::filesystem::exists(prefix + "/include/mastotape/replayer.hpp"));
    CHECK(std::filesystem::exists(prefix + "/lib/cmake/mastotape/mastotapeConfig.cmake"));
    // --prefix anywhere: the systemd unit runs the binary installed there.
    CHECK_THAT(read_file(prefix + "/lib/systemd/system/mastotape-record@.service"),
               Catch::Contains("\nExecStart=" + prefix + "/bin/mastotape record "));
    // A sanitized mastotape links only into a sanitized program.
    const std::string flags =
        MASTOTAPE_SANITIZED ? " '-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined'" : "";
    const std::string cmake = std::string("'") + MASTOTAPE_CMAKE + "'";
    bash(cmake + " -S '" + MASTOTAPE_SOURCE_DIR + "/tests/cmake_consumer' -B consumer" +
             " -DCMAKE_PREFIX_PATH='" + prefix + "'" + flags + " -DMASTOTAPE_README='" +
             MASTOTAPE_SOURCE_DIR + "/README.md' > consumer.log 2>&1 && " + cmake +
             " --build consumer >> consumer.log 2>&1 || { cat consumer.log; exit 1; }\n",
         dir);
    // The README's example names fixtures/direct.jsonl, from a checkout's top.
    std::filesystem::create_directory_symlink(fixtures_dir(), dir.file("fixtures"));
    const std::string out =
        bash("./consumer/consumer '" + fixtures_dir() + "/direct.jsonl' 2>&1\n", dir);
    CHECK(out == "ok: client 1: saw 1 of 1 items\n");
}

TEST_CASE("The bash completion completes subcommands, options and their values") {
    TempDir dir;
    write_file(dir.file("archive.db"), "");
    REQUIRE(run_mastotape("completion bash", dir).exit_code == 0);
    write_file(dir.file("completion.bash"), run_mastotape("completion bash", dir).out);
    const auto complete = [&](const std::string& words) {
        return bash(
            "source ./completion.bash\n"
            // Outside a real completion compopt refuses: what the script asks of it is logged.
            "compopt() { echo \"compopt $*\" >> compopt.log; }\n"
            "rm -f compopt.log\n"
            "COMP_WORDS=(" +
                words +
                ")\n"
                "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                "_mastotape\n"
                "printf '%s\\n' \"${COMPREPLY[@]}\"\n",
            dir);
    };
    CHECK(complete("mastotape rep") == "replay\n");
    CHECK(complete("mastotape co") == "compact\ncompletion\n");
    CHECK(complete("mastotape replay --fau") == "--fault\n");
    CHECK_THAT(complete("mastotape replay --fault ''"),
               Catch::Contains("drop-after=\n") && Catch::Contains("slow=\n"));
    CHECK(complete("mastotape record --stream hash") == "hashtag:local=\nhashtag=\n");
    CHECK(complete("mastotape synth --transport s") == "sse\n");
    CHECK(complete("mastotape compact --compress n") == "none\n");
    CHECK(complete("mastotape show --kind com") == "comment\n");
    CHECK(complete("mastotape stats --db arch") == "archive.db\n");
    // Flags take no value: after one, a file (a tape) is completed.
    CHECK(complete("mastotape replay --max-speed arch") == "archive.db\n");
    // A value that goes on after its `=` gets no space; a folder is completed as a folder.
    CHECK(complete("mastotape replay --fault drop-a") == "drop-after=\n");
    CHECK(read_file(dir.file("compopt.log")) == "compopt -o nospace\n");
    std::filesystem::create_directory(dir.file("tapes"));
    CHECK(complete("mastotape stats --db tap") == "tapes\n");
    CHECK(read_file(dir.file("compopt.log")) == "compopt -o filenames\n");
    CHECK(complete("mastotape verify tap") == "tapes\n");
    CHECK(read_file(dir.file("compopt.log")) == "compopt -o filenames\n");
    // Each option's values, for the subcommand it belongs to.
    CHECK(complete("mastotape export --format h") == "har\n");
    CHECK(complete("mastotape plot --format s") == "svg\n");
    CHECK(complete("mastotape synth --connection-ends heart") == "heartbeat-timeout\n");
    CHECK(complete("mastotape cut --event status") == "status.update\n");
    CHECK(complete("mastotape diff --ignore tim") == "timing\n");
}
