// The replayer against what a hostile campaign threw at it (issue 16): a tape that breaks while
// it streams, absurd offsets, a descriptor limit, a reset at full speed. Each case failed before
// its fix.

#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "replay/replay_server.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

// What the code under test writes on std::cerr while this lives. Make it before the server and
// let it go after (the server's thread writes there too).
class CerrCapture {
   public:
    CerrCapture() : old_(std::cerr.rdbuf(text_.rdbuf())) {}
    ~CerrCapture() { std::cerr.rdbuf(old_); }
    CerrCapture(const CerrCapture&) = delete;
    CerrCapture& operator=(const CerrCapture&) = delete;
    std::string text() const { return text_.str(); }

   private:
    std::ostringstream text_;
    std::streambuf* old_;
};

// A replayer of a 5-event tape started by `sh` after `limits` (ulimit commands), its log in
// DIR/replay.log; `port` is where it listens.
struct LimitedReplay {
    LimitedReplay(const TempDir& dir, const std::string& limits) : log(dir.file("replay.log")) {
        schema::SynthOptions so;
        so.events = 5;
        const std::string path = make_tape(dir, so);
        const std::string port_file = dir.file("port");
        child = std::make_unique<Child>(
            std::vector<std::string>{"/bin/sh", "-c",
                                     limits + " && exec '" + std::string(MASTOTAPE_BINARY) +
                                         "' replay --db '" + path + "' --port-file '" + port_file +
                                         "'"},
            log);
        REQUIRE(eventually([&] { return !read_file(port_file).empty(); }));
        port = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));
    }
    std::string log;
    std::unique_ptr<Child> child;
    std::uint16_t port = 0;
};

// `n` connections that send nothing, each holding one of the replayer's descriptors.
std::vector<std::unique_ptr<RawConn>> idle_connections(std::uint16_t port, int n) {
    std::vector<std::unique_ptr<RawConn>> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(std::make_unique<RawConn>(port));
    }
    return out;
}

}  // namespace

TEST_CASE("A tape that turns out corrupt while it streams ends the connection with one line") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3000;
    const std::string path = make_tape(dir, so);
    // Its last page gone: the plan reads, the frames near the end do not.
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4096);
    CerrCapture log;
    {
        replay::ReplayOptions o;
        o.tape = path;
        o.clock = replay::ClockMode::max_speed;
        RunningReplay replay(o);
        RawWs ws(replay.port(), "stream=user");
        REQUIRE(ws.upgraded());
        // Before the fix the connection's pending write completed into its freed coroutine
        // frame (a heap-use-after-free under ASan), and nothing said why the client was dropped.
        CHECK(ws.wait_end(30));
    }
    const std::string said = log.text();
    CHECK_THAT(said, Catch::Contains("corrupt tape"));
    CHECK_THAT(said, Catch::Contains("closed the client's connection"));
    CHECK(std::count(said.begin(), said.end(), '\n') == 1);
}

TEST_CASE("A tape with a frame at an absurd offset is refused with one line, not played forever") {
    // Such a tape came through `import` once; now only a hand-edited tape has one. Replayed at
    // --max-speed it spun at 100% CPU and ignored SIGTERM.
    TempDir dir;
    schema::SynthOptions so;
    so.events = 20;
    const std::string path = make_tape(dir, so);
    SQLite::Database(path, SQLite::OPEN_READWRITE)
        .exec(
            "UPDATE frames SET offset_ns = 9223372036854775807 WHERE seq = "
            "(SELECT max(seq) FROM frames)");
    const auto run = run_mastotape("replay --max-speed --db '" + path + "'", dir);
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Catch::Contains("at offset 9223372036854775807 ns, outside what a tape "
                                        "can hold; `mastotape verify` lists the damage"));
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
}

TEST_CASE("At its descriptor budget the replayer waits, says so once, and serves again") {
    // Before, it accepted until no descriptor was left: SQLite could not open a temporary file,
    // and the sanitized build's runtime, which probes memory through a pipe, reported its own
    // checks as failures and stopped the process. This runs in both builds.
    TempDir dir;
    LimitedReplay replay(dir, "ulimit -n 40");
    const std::string& log = replay.log;
    const auto port = replay.port;
    {
        // Idle connections until well past the limit: each accepted one holds a descriptor.
        const auto idle = idle_connections(port, 80);
        REQUIRE(
            eventually([&] { return read_file(log).find("replay: at ") != std::string::npos; }));
        std::this_thread::sleep_for(std::chrono::seconds(1));
        // Before the first fix: a busy loop that wrote "accept: Too many open files" ~500,000
        // times a second.
        const std::string said = read_file(log);
        CHECK(std::count(said.begin(), said.end(), '\n') <= 2);
        CHECK_THAT(said, Catch::Contains("connections: the descriptor limit 40 less what the "
                                         "replayer holds and a reserve"));
        CHECK(said.find("out of file descriptors") == std::string::npos);
    }
    // The idle clients went: a new one is served, and the log says the replayer recovered.
    CHECK(eventually([&] {
        return http_get(port, "/api/v1/streaming/health").find("200 OK") != std::string::npos;
    }));
    CHECK_THAT(read_file(log), Catch::Contains("accepting clients again"));
    replay.child->signal(SIGTERM);
    CHECK(replay.child->wait() == 0);
}

TEST_CASE("The replayer raises its soft descriptor limit to the hard one") {
    TempDir dir;
    // A soft limit of 40 under a hard one of 512: 80 connections fit once it is raised.
    LimitedReplay replay(dir, "ulimit -Sn 40 && ulimit -Hn 512");
    const std::string& log = replay.log;
    const auto port = replay.port;
    const auto idle = idle_connections(port, 80);
    // Served past them all: each was accepted (the listen queue answers nothing).
    CHECK(http_get(port, "/api/v1/streaming/health").find("200 OK") != std::string::npos);
    const std::string said = read_file(log);
    CHECK(said.find("replay: at ") == std::string::npos);
    CHECK(said.find("out of file descriptors") == std::string::npos);
    replay.child->signal(SIGTERM);
    CHECK(replay.child->wait() == 0);
}

TEST_CASE("At --max-speed every frame before a recorded reset reaches the client before the RST") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 6000;  // ~5 MB before the reset: more than the client's socket buffer holds
    so.connection_ends = {"reset"};
    so.backfill = false;
    const std::string path = make_tape(dir, so);
    std::size_t recorded = 0;  // text frames of connection 0
    for (const auto& f : tape_frames(path)) {
        recorded += f.connection_idx == 0 && f.columns.kind == schema::FrameKind::event;
    }
    REQUIRE(recorded > 1000);
    replay::ReplayOptions o;
    o.tape = path;
    o.clock = replay::ClockMode::max_speed;
    o.hold = true;
    RunningReplay replay(o);
    RawWs ws(replay.port(), "stream=user", "", 64 * 1024);
    REQUIRE(ws.upgraded());
    // A client busy elsewhere for a moment: the replayer has written everything up to the reset
    // by the time it reads. Before the fix the RST threw away what the kernel had not yet sent.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::size_t received = 0;
    while (auto f = ws.next(10)) {
        received += f->opcode == 1;
    }
    CHECK(ws.ended());
    CHECK(received == recorded);
}
