// The mastotape binary as a user meets it: help, exit codes, one-line errors, files untouched.

#include <algorithm>
#include <csignal>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/replay/running_replay.hpp"
#include "tests/test_support.hpp"
#include "tools/listen_address.hpp"

using mastotape::test::read_file;
using mastotape::test::run_mastotape;
using mastotape::test::TempDir;
using mastotape::test::write_file;

namespace {

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST_CASE("Every subcommand has --help") {
    TempDir dir;
    for (const char* sub :
         {"sessions", "show", "stats", "verify", "export", "import", "synth", "record", "replay",
          "diff", "cut", "merge", "redact", "compact", "plot", "import-har", "completion"}) {
        INFO(sub);
        const auto r = run_mastotape(std::string(sub) + " --help", dir);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("Usage"));
        CHECK_THAT(r.out, Catch::Contains("--help"));
    }
    const auto top = run_mastotape("--help", dir);
    CHECK(top.exit_code == 0);
    CHECK_THAT(top.out, Catch::Contains("Exit codes"));
}

TEST_CASE("A bad command line exits with 2") {
    TempDir dir;
    CHECK(run_mastotape("frobnicate", dir).exit_code == 2);
    CHECK(run_mastotape("", dir).exit_code == 2);
    CHECK(run_mastotape("show --nope", dir).exit_code == 2);
    CHECK(run_mastotape("synth --transport carrier-pigeon", dir).exit_code == 2);
}

TEST_CASE("replay refuses a non-loopback address without --allow-remote") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 3 -q", dir).exit_code == 0);
    const auto r = run_mastotape("replay --listen 0.0.0.0:0", dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--allow-remote"));
}

TEST_CASE("replay --listen takes HOST:PORT whole or says what is wrong in one line") {
    // Before: "127.0.0.1:abc" printed "stoi", port 99999 bound another port, and [::1]:0 was
    // refused as not loopback.
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 3 -q", dir).exit_code == 0);
    for (const auto& [listen, says] : {std::pair{"127.0.0.1:abc", "not a number from 0 to 65535"},
                                       std::pair{"127.0.0.1:99999", "not a number from 0 to 65535"},
                                       std::pair{"127.0.0.1:", "not a number from 0 to 65535"},
                                       std::pair{"127.0.0.1:-1", "not a number from 0 to 65535"},
                                       std::pair{"4000", "is not HOST:PORT"},
                                       std::pair{"::1:4000", "put an IPv6 address in brackets"},
                                       std::pair{"example.org:4000", "is not an IP address"}}) {
        INFO(listen);
        const auto r = run_mastotape(std::string("replay --listen ") + listen, dir);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(says));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    std::string error;
    REQUIRE(mastotape::tools::parse_listen_address("[::1]:0", error));
    CHECK(mastotape::tools::parse_listen_address("[::1]:0", error)->loopback);
    CHECK(mastotape::tools::parse_listen_address("[::1]:0", error)->host == "::1");
    CHECK(mastotape::tools::parse_listen_address("localhost:65535", error)->host == "127.0.0.1");
    CHECK(mastotape::tools::parse_listen_address("localhost:65535", error)->port == 65535);
    CHECK(mastotape::tools::parse_listen_address("127.1.2.3:80", error)->loopback);
    CHECK_FALSE(mastotape::tools::parse_listen_address("0.0.0.0:0", error)->loopback);
    CHECK_FALSE(mastotape::tools::parse_listen_address("[::]:0", error)->loopback);
}

TEST_CASE("replay --listen [::1]:0 serves on IPv6 loopback") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 3 -q", dir).exit_code == 0);
    const auto r = run_mastotape(
        "replay --listen [::1]:0 --max-speed --exit-when-done "
        "--exit-grace 0.1 --timeout 1",
        dir);
    INFO(r.err);
    CHECK_THAT(r.out, Catch::StartsWith("listening ws://[::1]:"));
}

TEST_CASE("synth then sessions works on a fresh tape in the working directory") {
    TempDir dir;
    const auto synth = run_mastotape("synth --events 100 --connection-ends eof", dir);
    REQUIRE(synth.exit_code == 0);
    CHECK(std::filesystem::exists(dir.file("mastotape.db")));
    const auto table = run_mastotape("sessions", dir);
    CHECK(table.exit_code == 0);
    CHECK_THAT(table.out, Catch::Contains("ended"));
    const auto listed = run_mastotape("sessions --json", dir);
    REQUIRE(listed.exit_code == 0);
    const auto rows = nlohmann::json::parse(listed.out);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].at("events") == 100);
    CHECK(rows[0].at("gaps") == 1);
    CHECK(rows[0].at("connections") == 3);
    CHECK(rows[0].at("state") == "ended");

    // Into an existing tape: one more session. Into a new file that fails: nothing at all.
    REQUIRE(run_mastotape("synth --events 10 -q", dir).exit_code == 0);
    CHECK(nlohmann::json::parse(run_mastotape("sessions --json", dir).out).size() == 2);
    CHECK(run_mastotape("synth --db other.db --mix no-such-event", dir).exit_code == 2);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK_THAT(entry.path().filename().string(), !Catch::StartsWith("other.db"));
    }
}

TEST_CASE(
    "Ctrl-C during synth writes nothing: no new file, and an existing tape keeps its sessions") {
    TempDir dir;
    const auto db = dir.file("synth.db");
    // The bytes synth has written so far: its scratch file, or the existing tape's WAL.
    const auto written = [&](bool existing) {
        std::uintmax_t size = 0;
        for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
            const auto name = entry.path().filename().string();
            if (existing ? name == "synth.db-wal" : name.rfind("synth.db.partial-", 0) == 0) {
                size = entry.file_size();
            }
        }
        return size;
    };
    for (const bool existing : {false, true}) {
        INFO((existing ? "into an existing tape" : "into a new file"));
        if (existing) {
            REQUIRE(run_mastotape("synth --db synth.db --events 10 -q", dir).exit_code == 0);
        }
        mastotape::test::Child synth({MASTOTAPE_BINARY, "synth", "--db", db, "--events", "5000000"},
                                     dir.file("synth.out"));
        REQUIRE(synth.started());
        REQUIRE(mastotape::test::eventually([&] { return written(existing) > (4 << 20); }, 60));
        synth.signal(SIGINT);
        CHECK(synth.wait() == 1);
        const auto out = read_file(dir.file("synth.out"));
        CHECK_THAT(out, Catch::Contains(db + ": synth interrupted; nothing was written"));
        if (existing) {
            const auto rows =
                nlohmann::json::parse(run_mastotape("sessions --json --db synth.db", dir).out);
            CHECK(rows.size() == 1);
            CHECK(run_mastotape("verify --db synth.db", dir).exit_code == 0);
        } else {
            CHECK(written(false) == 0);
            CHECK_FALSE(std::filesystem::exists(db));
        }
    }
}

TEST_CASE("MASTOTAPE_DB names the tape when --db is not given") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 5 --db a.db -q", dir).exit_code == 0);
    const auto r = run_mastotape("sessions --json", dir);
    CHECK(r.exit_code == 1);  // ./mastotape.db does not exist
    const auto env = run_mastotape("sessions --json", dir);
    (void)env;
    const std::string cmd = "cd '" + dir.path().string() + "' && MASTOTAPE_DB=a.db '" +
                            MASTOTAPE_BINARY + "' sessions --json > out.json";
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(nlohmann::json::parse(read_file(dir.file("out.json"))).size() == 1);
}

TEST_CASE("show, stats and verify describe a session") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 200 --connection-ends eof,heartbeat-timeout -q", dir)
                .exit_code == 0);
    const auto show = run_mastotape("show 1 --kind connection --kind gap", dir);
    CHECK(show.exit_code == 0);
    CHECK_THAT(show.out, Catch::Contains("connection 0 end eof 1006"));
    CHECK_THAT(show.out, Catch::Contains("gap 1 start (heartbeat-timeout"));
    CHECK(show.out.find(" event ") == std::string::npos);
    const auto events = run_mastotape("show --event delete --limit 3 --json", dir);
    CHECK(events.exit_code == 0);
    CHECK(std::count(events.out.begin(), events.out.end(), '\n') == 3);
    CHECK(nlohmann::json::parse(events.out.substr(0, events.out.find('\n'))).at("event") ==
          "delete");
    const auto stats = run_mastotape("stats --json", dir);
    REQUIRE(stats.exit_code == 0);
    const auto j = nlohmann::json::parse(stats.out);
    CHECK(j.at("events") == 200);
    CHECK(j.at("gaps").at("by_cause").at("heartbeat-timeout") == 1);
    const auto verify = run_mastotape("verify", dir);
    CHECK(verify.exit_code == 0);
    CHECK_THAT(verify.out, Catch::Contains("clean"));
}

TEST_CASE("Errors opening a tape are one line naming the file, exit 1, and change nothing") {
    TempDir dir;
    SECTION("missing") {
        const auto r = run_mastotape("sessions --db nope.db", dir);
        CHECK(r.exit_code == 1);
        CHECK(one_line(r.err));
        CHECK_THAT(r.err, Catch::Contains("nope.db"));
        CHECK_FALSE(std::filesystem::exists(dir.file("nope.db")));
    }
    SECTION("not SQLite") {
        write_file(dir.file("notes.db"), "these are my notes, not a database at all\n");
        for (const char* cmd : {"sessions", "verify --repair", "synth", "import fixture.jsonl"}) {
            write_file(dir.file("fixture.jsonl"), "{}\n");
            const auto r = run_mastotape(std::string(cmd) + " --db notes.db", dir);
            CHECK(r.exit_code == 1);
            CHECK(one_line(r.err));
            CHECK_THAT(r.err, Catch::Contains("notes.db: not a SQLite file"));
        }
        CHECK(read_file(dir.file("notes.db")) == "these are my notes, not a database at all\n");
    }
    SECTION("no such session") {
        REQUIRE(run_mastotape("synth --events 5 -q", dir).exit_code == 0);
        const auto r = run_mastotape("show 7", dir);
        CHECK(r.exit_code == 1);
        CHECK(one_line(r.err));
        CHECK_THAT(r.err, Catch::Contains("no session 7"));
    }
}

TEST_CASE("replay --tls-cert: a missing or bad certificate is one line naming the file") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 5 -q", dir).exit_code == 0);
    SECTION("--tls-cert without --tls-key") {
        const auto r = run_mastotape("replay --tls-cert cert.pem", dir);
        CHECK(r.exit_code == 2);
        CHECK(one_line(r.err));
        CHECK_THAT(r.err, Catch::Contains("--tls-cert and --tls-key go together"));
    }
    SECTION("a certificate that is not PEM") {
        write_file(dir.file("cert.pem"), "not a certificate\n");
        write_file(dir.file("key.pem"), "not a key\n");
        const auto r = run_mastotape("replay --tls-cert cert.pem --tls-key key.pem", dir);
        CHECK(r.exit_code == 1);
        CHECK(one_line(r.err));
        CHECK_THAT(r.err, Catch::Contains("cert.pem: cannot load a PEM certificate chain"));
    }
    SECTION("a key that does not match the certificate") {
        REQUIRE(mastotape::test::make_test_certificates(dir, "DNS:localhost"));
        const auto r = run_mastotape("replay --tls-cert server.pem --tls-key ca.key", dir);
        CHECK(r.exit_code == 1);
        CHECK(one_line(r.err));
        CHECK_THAT(r.err, Catch::Contains("ca.key: cannot load a PEM private key"));
    }
}

TEST_CASE("verify exits 4 on an interrupted session until --repair closes it") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 20 -q", dir).exit_code == 0);
    const std::string cmd = "sqlite3 '" + dir.file("mastotape.db") +
                            "' \"UPDATE sessions SET ended_wall_ns = NULL, ended_offset_ns = NULL, "
                            "updated_wall_ns = 0\"";
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK_THAT(run_mastotape("sessions", dir).out, Catch::Contains("interrupted"));
    const auto before = run_mastotape("verify", dir);
    CHECK(before.exit_code == 4);
    CHECK_THAT(before.out, Catch::Contains("interrupted"));
    CHECK(run_mastotape("verify --repair", dir).exit_code == 0);
    CHECK(run_mastotape("verify", dir).exit_code == 0);
}

TEST_CASE("export -o and import round-trip through files, and a bad import names FILE:LINE") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 50 --stream hashtag=rust --transport sse -q", dir)
                .exit_code == 0);
    REQUIRE(run_mastotape("export 1 -o one.jsonl", dir).exit_code == 0);
    const auto to_stdout = run_mastotape("export 1", dir);
    CHECK(read_file(dir.file("one.jsonl")) == to_stdout.out);
    const auto imported = run_mastotape("import one.jsonl --db copy.db", dir);
    CHECK(imported.exit_code == 0);
    CHECK(run_mastotape("export --db copy.db", dir).out == to_stdout.out);

    std::string broken = to_stdout.out;
    broken.insert(broken.find('\n', broken.find('\n') + 1) + 1, "{\"type\":\"frame\"}\n");
    write_file(dir.file("broken.jsonl"), broken);
    const auto bad = run_mastotape("import broken.jsonl --db fresh.db", dir);
    CHECK(bad.exit_code == 1);
    CHECK(one_line(bad.err));
    CHECK_THAT(bad.err, Catch::StartsWith("mastotape: broken.jsonl:3: "));
    CHECK_FALSE(std::filesystem::exists(dir.file("fresh.db")));
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK_THAT(entry.path().filename().string(), !Catch::Contains("partial"));
    }
}

TEST_CASE("The fixtures are exactly what tools/make_fixtures.sh writes") {
    TempDir dir;
    const std::string cmd = std::string("cd '") + MASTOTAPE_SOURCE_DIR +
                            "' && tools/make_fixtures.sh '" + MASTOTAPE_BINARY + "' '" +
                            dir.path().string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::size_t compared = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        if (entry.path().extension() != ".jsonl") {
            continue;
        }
        INFO(entry.path().filename().string());
        CHECK(read_file(entry.path().string()) ==
              read_file(mastotape::test::fixtures_dir() + "/" + entry.path().filename().string()));
        ++compared;
    }
    CHECK(compared == 5);
}

TEST_CASE("diff: equal sessions exit 0, a changed byte or a missing frame exits 1, bad input 2") {
    TempDir dir;
    const std::string fixture = mastotape::test::fixtures_dir() + "/user-gaps.jsonl";
    REQUIRE(run_mastotape("import '" + fixture + "' --db a.db", dir).exit_code == 0);
    REQUIRE(run_mastotape("import '" + fixture + "' --db a.db", dir).exit_code == 0);

    // The same session named every way: ID in --db, FILE:ID, FILE (newest), JSONL.
    for (const std::string& args :
         std::vector<std::string>{"--db a.db 1 2", "a.db:1 a.db", "'" + fixture + "' a.db:2",
                                  "'" + fixture + "':1 '" + fixture + "'"}) {
        INFO(args);
        const auto same = run_mastotape("diff " + args, dir);
        CHECK(same.exit_code == 0);
        CHECK_THAT(same.out, Catch::StartsWith("equal: 3 connections, 42 frames, 2 gaps"));
    }

    // One byte changed inside an event, and the last frame left out.
    std::string text = read_file(fixture);
    const auto at = text.find("<p>", text.find("content")) + 3;
    text[at] = text[at] == 'x' ? 'y' : 'x';
    const auto last_frame = text.rfind("{\"type\":\"frame\"");
    text.erase(last_frame, text.find('\n', last_frame) + 1 - last_frame);
    write_file(dir.file("changed.jsonl"), text);
    const auto changed = run_mastotape("diff '" + fixture + "' changed.jsonl", dir);
    CHECK(changed.exit_code == 1);
    CHECK_THAT(changed.out, Catch::Contains("bytes differ at byte"));
    CHECK_THAT(changed.out, Catch::Contains("is missing from B"));
    CHECK_THAT(changed.out, Catch::Contains("different: 2 differences (frames 2)"));
    const auto as_json = run_mastotape("diff '" + fixture + "' changed.jsonl --json", dir);
    CHECK(as_json.exit_code == 1);
    const auto verdict = nlohmann::json::parse(as_json.out);
    CHECK(verdict["equal"] == false);
    CHECK(verdict["differences"] == 2);

    // Timing: the same frames at another speed are equal only when scaled.
    CHECK(run_mastotape("diff '" + fixture + "' a.db:2 --time-scale 2", dir).exit_code == 1);
    CHECK(run_mastotape("diff '" + fixture + "' a.db:2 --time-scale 2 --ignore timing", dir)
              .exit_code == 0);

    // The first connection ended by a network error instead of an EOF: its end and its gap's
    // cause differ, and `--ignore ends` leaves out both.
    std::string ended = read_file(fixture);
    for (const std::string& from :
         {std::string(R"("end_cause":"eof","close_code":1006)"), std::string(R"("cause":"eof")")}) {
        const auto pos = ended.find(from);
        REQUIRE(pos != std::string::npos);
        ended.replace(pos, from.size(),
                      from.find("close_code") != std::string::npos
                          ? R"("end_cause":"network-error","close_code":null)"
                          : R"("cause":"network-error")");
    }
    write_file(dir.file("ended.jsonl"), ended);
    const auto ends = run_mastotape("diff '" + fixture + "' ended.jsonl", dir);
    CHECK(ends.exit_code == 1);
    CHECK_THAT(ends.out, Catch::Contains("connection 0 ended: A eof"));
    CHECK_THAT(ends.out, Catch::Contains("gap 0 cause: A eof, B network-error"));
    CHECK(run_mastotape("diff '" + fixture + "' ended.jsonl --ignore ends", dir).exit_code == 0);

    const auto missing = run_mastotape("diff a.db:9 a.db:1", dir);
    CHECK(missing.exit_code == 2);
    CHECK(one_line(missing.err));
    const auto garbage = run_mastotape("diff /etc/hostname a.db", dir);
    CHECK(garbage.exit_code == 2);
    CHECK_THAT(garbage.err, Catch::Contains("neither a tape nor a JSONL tape"));
    CHECK(run_mastotape("diff a.db a.db --ignore everything", dir).exit_code == 2);
}

TEST_CASE("tools/docs/cli.md is exactly what tools/make_cli_reference.sh writes from --help") {
    TempDir dir;
    const std::string cmd = std::string("cd '") + MASTOTAPE_SOURCE_DIR +
                            "' && tools/make_cli_reference.sh '" + MASTOTAPE_BINARY + "' '" +
                            dir.file("cli.md") + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const auto generated = read_file(dir.file("cli.md"));
    CHECK_THAT(generated, Catch::Contains("## mastotape diff"));
    CHECK(generated == read_file(std::string(MASTOTAPE_SOURCE_DIR) + "/tools/docs/cli.md"));
}

TEST_CASE("A short token is redacted where it stands alone, not inside ordinary words") {
    TempDir dir;
    REQUIRE(
        run_mastotape("synth --db t.db --events 10 --rate 100 --stream public --mix update -q", dir)
            .exit_code == 0);
    mastotape::replay::ReplayOptions ro;
    ro.tape = dir.file("t.db");
    ro.clock = mastotape::replay::ClockMode::max_speed;
    mastotape::test::RunningReplay replay(ro);
    // As the subprotocol, the server echoes the token in a response header the tape keeps.
    const std::string record = "record " + replay.url() +
                               " --stream public --token-file tok --token-in subprotocol "
                               "--max-events 10 --no-backfill --no-discovery --db ";
    for (const std::string token : {"tok-SECRET-0123456789", "t"}) {
        INFO("token " << token);
        write_file(dir.file("tok"), token + "\n");
        const std::string db = token == "t" ? "short.db" : "long.db";
        const auto r = run_mastotape(record + db, dir);
        CHECK(r.exit_code == 0);
        // Every "t" of the log lines stays (it once read "connec[token]ion 0 up").
        CHECK_THAT(r.err, Catch::Contains("record: connection 0 up: ws://127.0.0.1:"));
        CHECK_THAT(r.err, Catch::Contains("record: session 1 ended (count): 10 events"));
        REQUIRE(run_mastotape("export 1 --db " + db + " -o " + db + ".jsonl", dir).exit_code == 0);
        const auto exported = read_file(dir.file(db + ".jsonl"));
        CHECK_THAT(exported, Catch::Contains(R"(\"Sec-WebSocket-Protocol\":\"[token]\")"));
        CHECK_THAT(exported, Catch::Contains(R"("subprotocol":"[token]")"));
        CHECK_THAT(exported, Catch::Contains(R"(\"Upgrade\":\"websocket\")"));
        CHECK_THAT(exported, !Catch::Contains("tok-SECRET"));
        CHECK_THAT(r.err, !Catch::Contains("tok-SECRET"));
    }
}

TEST_CASE("Every reading command takes a JSONL tape, as replay and diff do") {
    TempDir dir;
    const std::string fixture = std::string(MASTOTAPE_SOURCE_DIR) + "/fixtures/user-gaps.jsonl";
    const std::string before = read_file(fixture);
    const auto sessions = run_mastotape("sessions --db '" + fixture + "'", dir);
    CHECK(sessions.exit_code == 0);
    CHECK_THAT(sessions.out, Catch::Contains("user-gaps"));
    const auto show = run_mastotape("show --db '" + fixture + "' --kind gap", dir);
    CHECK(show.exit_code == 0);
    CHECK_THAT(show.out, Catch::Contains("gap 0 start"));  // gaps count from 0, as in the report
    CHECK_THAT(show.out, Catch::Contains("gap 1 start"));
    const auto stats = run_mastotape("stats --db '" + fixture + "'", dir);
    CHECK(stats.exit_code == 0);
    CHECK_THAT(stats.out, Catch::Contains("events 40"));
    const auto plot = run_mastotape("plot --db '" + fixture + "' -o plot.svg", dir);
    CHECK(plot.exit_code == 0);
    CHECK_THAT(read_file(dir.file("plot.svg")), Catch::Contains("<svg"));
    const auto exported = run_mastotape("export --db '" + fixture + "'", dir);
    CHECK(exported.exit_code == 0);
    CHECK(exported.out == before);  // export(import(x)) == x, through the scratch tape
    // Written in place, never: a command that writes a tape is told where.
    const auto cut = run_mastotape("cut --db '" + fixture + "' --from 0 --to 10", dir);
    CHECK(cut.exit_code != 0);
    CHECK(one_line(cut.err));
    CHECK_THAT(cut.err, Catch::Contains("--out FILE.db"));
    CHECK(read_file(fixture) == before);
}

TEST_CASE("replay --timeout ends a run that nobody ends, with exit 1 and a line saying so") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 5 -q", dir).exit_code == 0);
    const auto r = run_mastotape("replay --timeout 0.5 --exit-when-done", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("replay: --timeout 0.5 s passed with 0 streams open"));
    const auto bad = run_mastotape("replay --timeout 0", dir);
    CHECK(bad.exit_code == 2);
}
