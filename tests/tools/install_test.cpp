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

}  // namespace

TEST_CASE("cmake --install puts a working mastotape, its man pages and completion under a prefix") {
    TempDir dir;
    const std::string prefix = dir.file("prefix");
    bash(std::string("'") + MASTOTAPE_CMAKE + "' --install '" + MASTOTAPE_BUILD_DIR +
             "' --prefix '" + prefix + "' > /dev/null\n",
         dir);
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
        const std::string page = read_file(prefix + "/share/man/man1/mastotape-" + sub + ".1");
        CHECK_THAT(page, Catch::StartsWith(".TH MASTOTAPE-"));
        CHECK_THAT(page, Catch::Contains("--help"));
    }
    CHECK_THAT(read_file(prefix + "/share/man/man1/mastotape-replay.1"),
               Catch::Contains("--virtual-clock") && Catch::Contains("--fault"));

    const std::string version = bash("'" + bin + "' --version\n", dir);
    CHECK_THAT(version, Catch::StartsWith("mastotape 0.") && Catch::Contains("tape format 4") &&
                            Catch::Contains("Boost.Beast ") && Catch::Contains("SQLite 3.") &&
                            Catch::Contains("OpenSSL 3.") && Catch::Contains("zstd 1."));
    // The installed binary replays a fixture.
    const std::string played =
        bash("'" + bin + "' replay '" + MASTOTAPE_SOURCE_DIR +
                 "/fixtures/direct.jsonl' --max-speed --port-file port > replay.out 2>&1 &\n"
                 "pid=$!\n"
                 "for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done\n"
                 "port=$(cat port)\n"
                 "exec 3<>/dev/tcp/127.0.0.1/$port\n"
                 "printf 'GET /api/v1/streaming/direct HTTP/1.1\\r\\nHost: x\\r\\n"
                 "Authorization: Bearer t\\r\\n\\r\\n' >&3\n"
                 "timeout 10 cat <&3 | head -c 400\n"
                 "kill $pid 2>/dev/null; wait $pid 2>/dev/null; true\n",
             dir);
    CHECK_THAT(played, Catch::Contains("HTTP/1.1 200") && Catch::Contains("text/event-stream") &&
                           Catch::Contains("event: conversation"));
}

TEST_CASE("The bash completion completes subcommands, options and their values") {
    TempDir dir;
    write_file(dir.file("archive.db"), "");
    REQUIRE(run_mastotape("completion bash", dir).exit_code == 0);
    write_file(dir.file("completion.bash"), run_mastotape("completion bash", dir).out);
    const auto complete = [&](const std::string& words) {
        return bash(
            "source ./completion.bash\n"
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
    CHECK(complete("mastotape record --stream hash") == "hashtag=\nhashtag:local=\n");
    CHECK(complete("mastotape synth --transport s") == "sse\n");
    CHECK(complete("mastotape compact --compress n") == "none\n");
    CHECK(complete("mastotape show --kind com") == "comment\n");
    CHECK(complete("mastotape stats --db arch") == "archive.db\n");
    // Flags take no value: after one, a file (a tape) is completed.
    CHECK(complete("mastotape replay --max-speed arch") == "archive.db\n");
}
