// The recorder as a process: Ctrl-C, kill -9, TLS verification, and what it prints.

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "schema/tape/recorder_lock.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::Child;
using mastotape::test::eventually;
using mastotape::test::frames_in;
using mastotape::test::listening_url;
using mastotape::test::read_file;
using mastotape::test::TempDir;

namespace {

constexpr const char* kProcessToken = "tok-PROCESS-SECRET-42";

// A replay of a short synthesized tape that then holds the connection open, with `options`.
struct HeldReplay {
    explicit HeldReplay(const TempDir& dir, const std::vector<std::string>& options = {}) {
        REQUIRE(
            mastotape::test::run_mastotape("synth --db source.db --events 30 --rate 100 -q", dir)
                .exit_code == 0);
        std::vector<std::string> argv = {MASTOTAPE_BINARY, "replay", dir.file("source.db"),
                                         "--hold"};
        argv.insert(argv.end(), options.begin(), options.end());
        child = std::make_unique<Child>(argv, dir.file("replay.out"));
        url = listening_url(dir.file("replay.out"));
    }
    ~HeldReplay() {
        child->signal(SIGTERM);
        child->wait();
    }
    std::unique_ptr<Child> child;
    std::string url;
};

// `mastotape record` of `replay` into `db`, with the test's token, its output in DIR/rec.out.
std::unique_ptr<Child> start_recording(const TempDir& dir, const HeldReplay& replay,
                                       const std::string& db) {
    return std::make_unique<Child>(
        std::vector<std::string>{MASTOTAPE_BINARY, "record", replay.url, "--db", db},
        dir.file("rec.out"),
        std::vector<std::string>{std::string("ACCESS_TOKEN=") + kProcessToken});
}

}  // namespace

TEST_CASE("Ctrl-C closes with 1000, commits, marks the session stopped and exits 0") {
    TempDir dir;
    HeldReplay replay(dir);
    REQUIRE_FALSE(replay.url.empty());
    const auto db = dir.file("rec.db");
    const auto rec = start_recording(dir, replay, db);
    REQUIRE(eventually([&] { return frames_in(db) >= 30; }));
    rec->signal(SIGINT);
    CHECK(rec->wait() == 0);

    schema::TapeStore store(db, schema::OpenMode::read);
    const auto s = store.session(1);
    CHECK(s.end_reason == schema::SessionEnd::stopped);
    const auto conns = store.connections(1);
    REQUIRE(conns.size() == 1);
    CHECK(conns[0].end_cause == schema::EndCause::local_stop);
    CHECK(conns[0].close_code == 1000);
    CHECK(store.client_messages(1).back().kind == schema::MessageKind::close);
    CHECK(store.counts(1).events == 30);
    CHECK(schema::verify_tape(store, false, 0).clean());
    // The token is in no file and no output.
    for (const auto& f : {db, db + "-wal", dir.file("rec.out"), dir.file("replay.out")}) {
        CHECK(read_file(f).find(kProcessToken) == std::string::npos);
    }
}

TEST_CASE("kill -9 mid-stream loses at most the last batch and --repair closes the session") {
    TempDir dir;
    HeldReplay replay(dir);
    REQUIRE_FALSE(replay.url.empty());
    const auto db = dir.file("rec.db");
    Child rec({MASTOTAPE_BINARY, "record", replay.url, "--db", db, "--batch-interval", "50"},
              dir.file("rec.out"), {std::string("ACCESS_TOKEN=") + kProcessToken});
    REQUIRE(eventually([&] { return frames_in(db) >= 30; }));
    // Alive, its lock says so; dead, the lock is gone at once: no 15 s of `recording` and a
    // clean verify after a kill -9 (issue 16, item 18).
    {
        schema::TapeStore live(db, schema::OpenMode::read);
        CHECK(schema::recorder_alive(db, 1) == true);
        CHECK(schema::live_state(db, live.session(1), 0) == schema::SessionState::recording);
    }
    rec.signal(SIGKILL);
    CHECK(rec.wait() == 128 + SIGKILL);
    CHECK(schema::recorder_alive(db, 1) == false);
    const auto listed = mastotape::test::run_mastotape("sessions --db '" + db + "'", dir);
    CHECK_THAT(listed.out, Catch::EndsWith("interrupted\n"));
    CHECK(mastotape::test::run_mastotape("verify --db '" + db + "'", dir).exit_code == 4);

    schema::TapeStore store(db, schema::OpenMode::write);
    CHECK(store.counts(1).events == 30);
    const std::int64_t later = store.session(1).updated_wall_ns + 60'000'000'000;
    const auto before = schema::verify_tape(store, false, later);
    REQUIRE(before.problems.size() == 1);
    CHECK_THAT(before.problems[0], Catch::Contains("interrupted"));
    const auto repaired = schema::verify_tape(store, true, later);
    CHECK(repaired.clean());
    CHECK(store.session(1).end_reason == schema::SessionEnd::interrupted);
}

TEST_CASE("TLS is verified: a trusted CA passes, an unknown CA and a wrong host name fail") {
    TempDir dir;
    REQUIRE(mastotape::test::make_test_certificates(dir, "DNS:localhost"));
    // A free port, then an OpenSSL test server on it that answers any request with HTTP 200.
    int port = 0;
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
        ::close(fd);
    }
    Child server(
        {"/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
         dir.file("server.pem"), "-key", dir.file("server.key"), "-www", "-quiet"},
        dir.file("server.out"));
    REQUIRE(eventually(
        [&] {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(static_cast<std::uint16_t>(port));
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
            ::close(fd);
            return up;
        },
        10));

    auto record = [&](const std::string& host, bool trust_ca) {
        const auto db = dir.file("tls-" + host + (trust_ca ? "-ca" : "") + ".db");
        std::vector<std::string> args{MASTOTAPE_BINARY,
                                      "record",
                                      "wss://" + host + ":" + std::to_string(port),
                                      "--db",
                                      db,
                                      "--max-reconnects",
                                      "0",
                                      "-q"};
        if (trust_ca) {
            args.push_back("--cacert");
            args.push_back(dir.file("ca.pem"));
        }
        Child rec(args, dir.file("rec.out"), {std::string("ACCESS_TOKEN=") + kProcessToken});
        rec.wait();
        schema::TapeStore store(db, schema::OpenMode::read);
        return store.connections(1).at(0);
    };
    SECTION("the CA given with --cacert is trusted") {
        const auto c = record("localhost", true);
        // TLS succeeded; the test server is not a WebSocket server, so the upgrade is declined.
        CHECK(c.end_cause == schema::EndCause::handshake_failed);
        CHECK(c.http_status == 200);
    }
    SECTION("an unknown CA is refused") {
        const auto c = record("localhost", false);
        CHECK(c.end_cause == schema::EndCause::tls_error);
        CHECK_THAT(c.end_detail, Catch::Contains("certificate verify failed"));
    }
    SECTION("a certificate for another host name is refused") {
        const auto c = record("127.0.0.1", true);
        CHECK(c.end_cause == schema::EndCause::tls_error);
    }
    server.signal(SIGTERM);
    server.wait();
}

TEST_CASE("A token on the command line is refused and not echoed") {
    TempDir dir;
    const auto r = mastotape::test::run_mastotape(
        std::string("record ws://127.0.0.1:9 --token ") + kProcessToken, dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("ACCESS_TOKEN"));
    CHECK(r.err.find(kProcessToken) == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("mastotape.db")));
}

TEST_CASE("On a terminal the recorder keeps one status line up to date, elsewhere it prints none") {
    TempDir dir;
    HeldReplay replay(dir);
    REQUIRE_FALSE(replay.url.empty());
    // `script` runs the recorder on a pseudo-terminal and copies what it printed there.
    const std::string record = std::string("'") + MASTOTAPE_BINARY + "' record " + replay.url +
                               " --db tty.db --max-events 30";
    const std::string cmd = "cd '" + dir.path().string() + "' && ACCESS_TOKEN=" + kProcessToken +
                            " script -qefc \"" + record +
                            "\" typescript > tty.out 2>&1 < /dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const auto tty = read_file(dir.file("tty.out"));
    CHECK_THAT(tty, Catch::Contains("\r\033[K"));  // the line is rewritten in place
    CHECK_THAT(tty, Catch::Contains("events 30"));
    CHECK_THAT(tty, Catch::Contains("heartbeats"));
    CHECK(tty.find(kProcessToken) == std::string::npos);

    Child plain({MASTOTAPE_BINARY, "record", replay.url, "--db", dir.file("plain.db"),
                 "--max-events", "30"},
                dir.file("plain.out"), {"ACCESS_TOKEN=tok-second-client"});
    CHECK(plain.wait() == 0);
    CHECK(frames_in(dir.file("plain.db")) >= 30);
    CHECK(read_file(dir.file("plain.out")).find('\033') == std::string::npos);
}

TEST_CASE("A writer that falls behind slows reading down, says so once, and loses nothing") {
    TempDir dir;
    HeldReplay replay(dir);
    REQUIRE_FALSE(replay.url.empty());
    const auto db = dir.file("rec.db");
    // A 1 KiB write buffer: every frame fills it, so reading waits for the writer each time.
    Child rec({MASTOTAPE_BINARY, "record", replay.url, "--db", db, "--max-events", "30",
               "--write-buffer-kib", "1"},
              dir.file("rec.out"), {std::string("ACCESS_TOKEN=") + kProcessToken});
    CHECK(rec.wait() == 0);
    const auto out = read_file(dir.file("rec.out"));
    const std::string line = "the disk is not keeping up";
    const auto first = out.find(line);
    CHECK(first != std::string::npos);
    CHECK(out.find(line, first + 1) == std::string::npos);
    schema::TapeStore store(db, schema::OpenMode::read);
    CHECK(store.counts(1).events == 30);
    CHECK(schema::verify_tape(store, false, 0).clean());
}

TEST_CASE("A full disk stops the recorder at the first failed commit, with one line and exit 1") {
    TempDir dir;
    REQUIRE(
        mastotape::test::run_mastotape("synth --db source.db --events 6000 -q", dir).exit_code ==
        0);
    Child replay({MASTOTAPE_BINARY, "replay", dir.file("source.db"), "--max-speed", "--hold"},
                 dir.file("replay.out"));
    const auto url = listening_url(dir.file("replay.out"));
    REQUIRE_FALSE(url.empty());
    const auto db = dir.file("rec.db");
    // A 1 MB file size limit stands in for a full disk (writes past it fail with EFBIG; the
    // signal it also raises is ignored, as a full disk raises none). The 6,000 events take
    // ~2 MB compressed.
    Child rec({"/bin/sh", "-c",
               "trap '' XFSZ && ulimit -f 2048 && exec '" + std::string(MASTOTAPE_BINARY) +
                   "' record '" + url + "' --db '" + db + "'"},
              dir.file("rec.out"), {std::string("ACCESS_TOKEN=") + kProcessToken});
    // Before: it read on (and reconnected) for as long as the server sent, saying nothing.
    const auto code = rec.wait_for(30);
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    const auto out = read_file(dir.file("rec.out"));
    INFO(out);
    CHECK_THAT(out, Catch::Contains("; recording stopped (what was committed before is intact)"));
    std::size_t error_lines = 0;
    for (std::size_t at = 0; (at = out.find("mastotape record:", at)) != std::string::npos; ++at) {
        ++error_lines;
    }
    CHECK(error_lines == 1);
    // What was committed reads back whole.
    schema::TapeStore store(db, schema::OpenMode::read);
    CHECK(store.counts(1).frames > 0);
    CHECK(store.integrity_problems().empty());
    replay.signal(SIGTERM);
    replay.wait();
}

TEST_CASE("A tape deleted or replaced under the recorder is saved beside its path, exit 1") {
    for (const bool replace : {false, true}) {
        DYNAMIC_SECTION((replace ? "replaced" : "deleted")) {
            TempDir dir;
            HeldReplay replay(dir);
            REQUIRE_FALSE(replay.url.empty());
            const auto db = dir.file("rec.db");
            const auto rec = start_recording(dir, replay, db);
            // All 30 events committed; the held connection then only has heartbeats to give.
            REQUIRE(eventually([&] { return frames_in(db) >= 31; }));
            if (replace) {
                REQUIRE(mastotape::test::run_mastotape("synth --db other.db --events 5 -q", dir)
                            .exit_code == 0);
                REQUIRE(std::rename(dir.file("other.db").c_str(), db.c_str()) == 0);
            } else {
                REQUIRE(std::remove(db.c_str()) == 0);
            }
            // Before: it recorded on into a file no name reached, and lost it at exit (exit 0).
            const auto code = rec->wait_for(30);
            REQUIRE(code.has_value());
            CHECK(*code == 1);
            const auto out = read_file(dir.file("rec.out"));
            INFO(out);
            const std::string rescued =
                dir.file("rec.rescued-" + std::to_string(rec->pid()) + ".db");
            CHECK_THAT(out, Catch::Contains(replace ? "was replaced by another file while recording"
                                                    : "was deleted while recording"));
            CHECK_THAT(out, Catch::Contains("everything recorded is saved in " + rescued));
            CHECK(out.find(kProcessToken) == std::string::npos);

            schema::TapeStore saved(rescued, schema::OpenMode::read);
            CHECK(saved.integrity_problems().empty());
            const auto s = saved.session(1);
            CHECK(s.end_reason == schema::SessionEnd::error);
            CHECK_THAT(s.end_detail, Catch::Contains(replace ? "replaced" : "deleted"));
            CHECK(saved.counts(1).events == 30);
            CHECK(schema::verify_tape(saved, false, 0).clean());
            // The WAL went with the recorder: none is left for whatever the path names now.
            CHECK_FALSE(std::filesystem::exists(db + "-wal"));
            CHECK_FALSE(std::filesystem::exists(db + "-shm"));
            if (replace) {
                // The file moved there is untouched: its own session only.
                schema::TapeStore other(db, schema::OpenMode::read);
                REQUIRE(other.sessions().size() == 1);
                CHECK(other.counts(1).events == 5);
                CHECK(other.integrity_problems().empty());
            } else {
                CHECK_FALSE(std::filesystem::exists(db));
            }
        }
    }
}

TEST_CASE("A refused token says where the server's message came from") {
    // Over SSE the message is the JSON body's `error`: there is no X-Error-Message header there.
    TempDir dir;
    mastotape::test::write_file(dir.file("token"), "tok-right\n");
    HeldReplay replay(dir, {"--require-token-file", dir.file("token")});
    for (const char* transport : {"websocket", "sse"}) {
        INFO(transport);
        Child rec({MASTOTAPE_BINARY, "record", replay.url, "--db", dir.file("rec.db"),
                   "--transport", transport},
                  dir.file("rec.out"), {"ACCESS_TOKEN=tok-wrong"});
        CHECK(rec.wait() == 3);
        const auto err = read_file(dir.file("rec.out"));
        const bool sse = std::string(transport) == "sse";
        CHECK_THAT(err, Catch::Contains(sse ? "error in JSON body: Invalid access token"
                                            : "X-Error-Message: Invalid access token"));
        if (sse) {
            CHECK(err.find("X-Error-Message") == std::string::npos);  // before: said so
        }
    }
    schema::TapeStore tape(dir.file("rec.db"), schema::OpenMode::read);
    CHECK(tape.connections(2).at(0).error_message == "Invalid access token");
}

TEST_CASE("A stream the server rejects is named at once, and with none left the recording stops") {
    TempDir dir;
    HeldReplay replay(dir);
    const auto record = [&](std::vector<std::string> args) {
        std::vector<std::string> argv = {MASTOTAPE_BINARY,   "record", replay.url,   "--db",
                                         dir.file("rec.db"), "-q",     "--duration", "60"};
        argv.insert(argv.end(), args.begin(), args.end());
        Child rec(argv, dir.file("rec.out"));
        const int code = rec.wait();
        return std::make_pair(code, read_file(dir.file("rec.out")));
    };
    SECTION("one of two rejected over WebSocket: said, and the other one records") {
        const auto [code, err] =
            record({"--stream", "user", "--stream", "bogus", "--max-events", "30"});
        CHECK(code == 0);
        CHECK_THAT(err, Catch::Contains("the server rejected stream bogus: Unknown stream type"));
        schema::TapeStore tape(dir.file("rec.db"), schema::OpenMode::read);
        CHECK(tape.session(1).end_reason == schema::SessionEnd::count);
    }
    SECTION("every stream rejected over WebSocket: the recording stops with exit 1") {
        // Before: it recorded nothing until --duration, and exited 0.
        const auto [code, err] = record({"--stream", "hashtag"});
        CHECK(code == 1);
        CHECK_THAT(err, Catch::Contains("the server rejected stream hashtag: Missing tag name "
                                        "parameter"));
        CHECK_THAT(err, Catch::Contains("rejected every stream"));
        schema::TapeStore tape(dir.file("rec.db"), schema::OpenMode::read);
        CHECK(tape.session(1).end_reason == schema::SessionEnd::error);
    }
    SECTION("a 400 over SSE is not retried: exit 1 with the server's message") {
        // Before: retried with backoff until --duration.
        const auto [code, err] = record({"--transport", "sse", "--stream", "bogus"});
        CHECK(code == 1);
        CHECK_THAT(err, Catch::Contains("HTTP 400"));
        CHECK_THAT(err, Catch::Contains("Unknown channel requested"));
        schema::TapeStore tape(dir.file("rec.db"), schema::OpenMode::read);
        CHECK(tape.session(1).end_reason == schema::SessionEnd::error);
        CHECK(tape.connections(1).size() == 1);
    }
}

TEST_CASE(
    "kill -9 while recording a compressed tape loses only the last batch, never a dictionary") {
    TempDir dir;
    REQUIRE(mastotape::test::run_mastotape(
                "synth --db source.db --events 6000 --rate 1000 --stream public -q", dir)
                .exit_code == 0);
    Child replay({MASTOTAPE_BINARY, "replay", dir.file("source.db"), "--hold"},
                 dir.file("replay.out"));
    const auto url = listening_url(dir.file("replay.out"));
    REQUIRE_FALSE(url.empty());
    const auto db = dir.file("rec.db");
    Child rec({MASTOTAPE_BINARY, "record", url, "--db", db, "--stream", "public", "--no-backfill"},
              dir.file("rec.out"), {std::string("ACCESS_TOKEN=") + kProcessToken});
    // Past the 2,000 frames the session's own dictionary is trained on.
    REQUIRE(eventually([&] { return frames_in(db) >= 2500; }, 30));
    rec.signal(SIGKILL);
    CHECK(rec.wait() == 128 + SIGKILL);
    replay.signal(SIGTERM);
    replay.wait();

    const auto repaired = mastotape::test::run_mastotape("verify --repair --db rec.db", dir);
    INFO(repaired.out << repaired.err);
    CHECK(repaired.exit_code == 0);
    schema::TapeStore source(dir.file("source.db"), schema::OpenMode::read);
    schema::TapeStore store(db, schema::OpenMode::read);
    const auto events = [](schema::TapeStore& s) {
        std::vector<std::string> out;
        auto cursor = s.frames_from_seq(1, 1);
        for (schema::Frame f; cursor.next(f);) {
            if (f.columns.kind == schema::FrameKind::event) {
                out.push_back(f.bytes);
            }
        }
        return out;
    };
    const auto want = events(source);
    const auto got = events(store);
    REQUIRE(got.size() >= 2000);
    REQUIRE(got.size() <= want.size());
    // Every frame committed before the kill is the source's, byte for byte, in order.
    for (std::size_t i = 0; i < got.size(); ++i) {
        REQUIRE(got[i] == want[i]);
    }
    SQLite::Database raw(db, SQLite::OPEN_READONLY);
    CHECK(raw.execAndGet("SELECT count(*) FROM dictionaries WHERE session_id = 1").getInt() == 1);
    CHECK(raw.execAndGet("SELECT count(*) FROM frames WHERE dictionary_id NOT IN (SELECT id FROM "
                         "dictionaries)")
              .getInt() == 0);
}
