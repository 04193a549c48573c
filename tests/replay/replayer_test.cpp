// The public in-process replayer (<mastotape/replayer.hpp>) keeps its written contract: serving
// at once on a free loopback port, a virtual clock that moves only when told, the control API's
// refusals as exceptions, a verdict from stop(), and nothing left behind.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <iterator>
#include <mastotape/replayer.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::test;

namespace {

mastotape::ReplayerOptions fixture(const std::string& name) {
    mastotape::ReplayerOptions o;
    o.tape = fixtures_dir() + "/" + name;
    return o;
}

// A temporary directory of the test's own as TMPDIR, where JSONL replays keep their tapes.
class OwnTmpdir {
   public:
    OwnTmpdir() {
        if (const char* old = std::getenv("TMPDIR")) {
            old_ = old;
        }
        ::setenv("TMPDIR", dir_.path().c_str(), 1);
    }
    ~OwnTmpdir() {
        if (old_) {
            ::setenv("TMPDIR", old_->c_str(), 1);
        } else {
            ::unsetenv("TMPDIR");
        }
    }
    // The temporary tapes in it.
    std::size_t scratch_tapes() const {
        return static_cast<std::size_t>(
            std::distance(std::filesystem::directory_iterator(dir_.path()),
                          std::filesystem::directory_iterator()));
    }

   private:
    TempDir dir_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("The in-process replayer plays a JSONL fixture as its virtual clock is moved") {
    const OwnTmpdir tmp;
    {
        mastotape::Replayer replayer(fixture("direct.jsonl"));
        REQUIRE(replayer.port() != 0);
        CHECK(replayer.url() == "ws://127.0.0.1:" + std::to_string(replayer.port()));
        CHECK(replayer.http_url() == "http://127.0.0.1:" + std::to_string(replayer.port()));
        CHECK(tmp.scratch_tapes() == 1);

        // Before the clock moves, a WebSocket client gets the upgrade and nothing else.
        const auto still = frames_on_wire(upgrade_and_read(replayer.port(), "stream=direct"));
        CHECK(still.empty());
        const mastotape::ReplayerStatus status = replayer.status();
        CHECK(status.clock == "virtual");
        REQUIRE(status.clients.size() == 1);
        CHECK(status.clients[0].name == "client 1");

        // A client connected when the clock moves past the first event (8.08 s in) gets it.
        auto reading = std::async(std::launch::async, [&replayer] {
            return upgrade_and_read(replayer.port(), "stream=direct");
        });
        replayer.wait_for_client();
        const mastotape::ReplayerStatus up = replayer.status();
        CHECK(up.live_connections == 1);
        REQUIRE(up.clients.size() == 1);
        CHECK(up.clients[0].subscribed);
        CHECK(up.clients[0].subscriptions == std::vector<std::string>{"[\"direct\"]"});
        CHECK(replayer.run_to_seq(1) == 8'080'018'898);
        CHECK(replayer.advance_ms(1'000) == 9'080'018'898);
        const auto frames = frames_on_wire(reading.get());
        REQUIRE_FALSE(frames.empty());
        CHECK_THAT(frames.front().payload, Catch::Contains("\"event\":\"conversation\""));

        const auto live = nlohmann::json::parse(replayer.report());
        CHECK(live["clients"].size() == 1);
        const mastotape::ReplayerReport verdict = replayer.stop();
        CHECK(verdict.verdicts.size() == 1);
        CHECK_THAT(verdict.junit, Catch::StartsWith("<?xml"));
        CHECK(replayer.stop().json == verdict.json);  // a second stop gives the same verdict
        CHECK_THROWS_AS(replayer.status(), std::logic_error);
    }
    CHECK(tmp.scratch_tapes() == 0);
}

TEST_CASE("The in-process replayer refuses what the control API refuses, with its message") {
    mastotape::Replayer replayer(fixture("hashtag-sse.jsonl"));
    CHECK_THROWS_WITH(replayer.add_fault("drop-after=x"), Catch::Contains("drop-after"));
    replayer.add_fault("drop-after=3");
    CHECK_THAT(replayer.control("/_mastotape/faults"), Catch::Contains("drop-after"));
    CHECK_THROWS_WITH(replayer.control("/_mastotape/clock/advance", "ms=-1"),
                      Catch::Contains("ms= must be a number"));
    CHECK_THROWS_AS(replayer.control("/_mastotape/nothing-here"), std::invalid_argument);

    auto realtime = fixture("hashtag-sse.jsonl");
    realtime.clock = mastotape::ReplayerClock::realtime;
    mastotape::Replayer other(realtime);
    CHECK_THROWS_WITH(other.advance_ms(10), Catch::Contains("the clock is not virtual"));
    replayer.pause();
    CHECK(replayer.status().paused);
    CHECK(nlohmann::json::parse(replayer.status_json())["paused"] == true);
    replayer.resume();
}

TEST_CASE("wait_for_client waits for a subscribe frame, and says what it saw when none comes") {
    mastotape::Replayer replayer(fixture("direct.jsonl"));
    CHECK_THROWS_WITH(replayer.wait_for_client(1, 0.2),
                      Catch::Contains("0 of 1 clients connected and subscribed"));
    // Connected with no stream: live, not yet subscribed, until its subscribe frame is read.
    RawWs ws(replayer.port(), "");
    REQUIRE(ws.upgraded());
    REQUIRE(eventually([&] { return replayer.status().live_connections == 1; }));
    CHECK_FALSE(replayer.status().clients.at(0).subscribed);
    CHECK_THROWS(replayer.wait_for_client(1, 0.2));
    ws.send_frame(1, R"({"type":"subscribe","stream":"direct"})");
    replayer.wait_for_client(1, 10);
    CHECK(replayer.status().clients.at(0).subscribed);
    CHECK_THROWS_WITH(replayer.wait_for_client(2, 0.2),
                      Catch::Contains("1 of 2 clients connected and subscribed"));
}

TEST_CASE("The in-process replayer names the user's file when it cannot play it") {
    TempDir dir;
    write_file(dir.file("broken.jsonl"), "{\"mastotape\":\"tape\",\"version\":1}\nnot json\n");
    const OwnTmpdir tmp;
    mastotape::ReplayerOptions o;
    o.tape = dir.file("broken.jsonl");
    CHECK_THROWS_WITH(mastotape::Replayer(o), Catch::StartsWith(dir.file("broken.jsonl") + ":"));
    CHECK(tmp.scratch_tapes() == 0);
    o.tape = dir.file("missing.db");
    CHECK_THROWS_AS(mastotape::Replayer(o), std::runtime_error);
    CHECK_FALSE(std::filesystem::exists(o.tape));
    o = fixture("direct.jsonl");
    o.faults = {"no-such-fault=1"};
    CHECK_THROWS_AS(mastotape::Replayer(o), std::invalid_argument);
}

TEST_CASE("The in-process replayer journals a bot's requests and judges its expectations") {
    const OwnTmpdir tmp;
    mastotape::Replayer replayer(fixture("direct.jsonl"));
    replayer.set_stubs(R"([{"name": "lists", "request": {"path": "/api/v1/lists"},
                            "response": {"json": [], "headers": {"X-Stub": "lists"}}}])");
    replayer.expect(
        "- {name: reads its lists, request: {path: /api/v1/lists}, at_least: 1}\n"
        "- {name: posts once, request: {method: POST}, at_least: 1}\n");
    CHECK_THROWS_WITH(replayer.expect("- {nevr: {path: /x}}"),
                      Catch::Contains("the expectations posted: expectation 1.nevr: unknown key"));
    int status = 0;
    CHECK(get_json(replayer.port(), "/api/v1/lists?access_token=bot-secret", &status) ==
          nlohmann::json::array());
    CHECK(status == 200);
    const auto journal = nlohmann::json::parse(replayer.requests())["requests"];
    REQUIRE(journal.size() == 1);
    CHECK(journal[0]["stub"] == "lists");
    CHECK(journal[0]["query"] == "");
    CHECK(replayer.requests().find("bot-secret") == std::string::npos);
    const auto now = nlohmann::json::parse(replayer.expectations())["expectations"];
    REQUIRE(now.size() == 2);
    CHECK(now[0]["met"] == true);
    CHECK(now[1]["met"] == false);
    const mastotape::ReplayerReport r = replayer.stop();
    REQUIRE(r.unmet.size() == 1);
    CHECK(r.unmet[0] == "posts once: 1 unmet, first: 0 such requests, of at least 1");
    CHECK_THAT(r.junit, Catch::Contains("name=\"posts once\"") &&
                            Catch::Contains("GET /api/v1/lists -&gt; 200 (lists)"));
}
