// Server-sent events: the real server's paths and framing, a tape of one transport played over
// the other with that transport's heartbeats, and faults over SSE.

#include "replay/replay_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>

#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

TEST_CASE("SSE starts with :) and sends events as event/data blocks") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 5;
    so.transport = schema::Transport::sse;
    so.subscriptions = {{"hashtag", "rust"}};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    RunningReplay replay(o);
    const auto res = http_get(replay.port(), "/api/v1/streaming/hashtag?tag=rust");
    CHECK_THAT(res, Catch::StartsWith("HTTP/1.1 200 OK"));
    CHECK_THAT(res, Catch::Contains("Content-Type: text/event-stream\r\n"));
    CHECK_THAT(res, Catch::Contains("Transfer-Encoding: chunked\r\n"));
    CHECK_THAT(res, Catch::Contains("\r\n3\r\n:)\n\r\n"));
    CHECK_THAT(sse_body(res), Catch::Contains("event: update\ndata: {\"id\":"));
    const auto missing = http_get(replay.port(), "/api/v1/streaming/hashtag");
    CHECK_THAT(missing, Catch::Contains("{\"error\":\"Missing tag name parameter\"}"));
}

TEST_CASE("SSE answers at every path of the real server, each with its stream's events only") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 60;
    so.subscriptions = {{"user", ""}, {"public:local", ""}, {"hashtag", "rust"}};
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    std::map<std::string, std::vector<std::string>> payloads;  // by recorded label
    for (const auto& f : tape_frames(o.tape)) {
        if (f.columns.kind == schema::FrameKind::event) {
            const auto envelope = nlohmann::json::parse(f.bytes);
            payloads[envelope.at("stream").dump()].push_back(
                envelope.at("payload").get<std::string>());
        }
    }
    REQUIRE(payloads.size() == 3);
    RunningReplay replay(o);
    const std::vector<std::pair<std::string, std::string>> paths = {
        {"/api/v1/streaming/user", R"(["user"])"},
        {"/api/v1/streaming/public/local", R"(["public:local"])"},
        {"/api/v1/streaming/hashtag?tag=rust", R"(["hashtag","rust"])"},
        {"/api/v1/streaming/user/notification", ""},
        {"/api/v1/streaming/public", ""},
        {"/api/v1/streaming/public/local?only_media=true", ""},
        {"/api/v1/streaming/public/remote", ""},
        {"/api/v1/streaming/hashtag/local?tag=rust", ""},
        {"/api/v1/streaming/list?list=1", ""},
        {"/api/v1/streaming/direct", ""},
    };
    int client = 0;  // a token each: every path plays the tape from its start
    for (const auto& [path, label] : paths) {
        INFO(path);
        const auto res =
            http_get(replay.port(), path + (path.find('?') == std::string::npos ? "?" : "&") +
                                        "access_token=t" + std::to_string(++client));
        CHECK_THAT(res, Catch::StartsWith("HTTP/1.1 200 OK"));
        CHECK_THAT(res, Catch::Contains("Content-Type: text/event-stream\r\n"));
        CHECK_THAT(res, Catch::Contains("\r\n3\r\n:)\n\r\n"));
        std::size_t events = 0;
        for (auto at = res.find("event: update\n"); at != std::string::npos;
             at = res.find("event: update\n", at + 1)) {
            ++events;
        }
        if (label.empty()) {
            CHECK(events == 0);
            continue;
        }
        CHECK(events == payloads[label].size());
        const std::string body = sse_body(res);
        for (const auto& p : payloads[label]) {
            CHECK(body.find("event: update\ndata: " + p + "\n\n") != std::string::npos);
        }
    }
    CHECK_THAT(http_get(replay.port(), "/api/v1/streaming/user/"),
               Catch::Contains("{\"error\":\"Unknown channel requested\"}"));
}

TEST_CASE(
    "An SSE tape plays over WebSocket with pings every 30 s, a WebSocket tape over SSE with "
    ":thump every 15 s") {
    TempDir dir;
    {
        schema::SynthOptions so;
        so.events = 3;
        so.rate = 0.02;  // over 40 s: a ping is due at 30 s
        so.transport = schema::Transport::sse;
        so.subscriptions = {{"hashtag", "rust"}};
        replay::ReplayOptions o;
        o.tape = make_tape(dir, so);
        o.clock = replay::ClockMode::virtual_clock;
        RunningReplay replay(o);
        RawWs ws(replay.port(), "stream=hashtag&tag=rust");
        REQUIRE(ws.upgraded());
        post_json(replay.port(), "/_mastotape/clock/advance?ms=30000");
        int pings = 0;
        for (const auto& f : ws.drain(0.5)) {
            if (f.opcode == 9) {
                ++pings;
                CHECK(f.payload.empty());  // as the real server's
            } else {
                CHECK(f.opcode == 1);
                CHECK_THAT(f.payload,
                           Catch::StartsWith(R"({"stream":["hashtag","rust"],"event":)"));
            }
        }
        CHECK(pings == 1);
    }
    schema::SynthOptions so;
    so.events = 3;
    so.rate = 0.02;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so, "ws.db");
    o.clock = replay::ClockMode::virtual_clock;
    const std::string thump = "\r\n8\r\n:thump\n\n\r\n";
    const auto thumps = [&](RawConn& sse) {
        sse.settle();
        std::size_t n = 0;
        for (auto at = sse.data().find(thump); at != std::string::npos;
             at = sse.data().find(thump, at + 1)) {
            ++n;
        }
        return n;
    };
    // Mastodon's cadence: a :thump every 15 s from the response's start, wherever the tape's
    // pings fall (before: one at each recorded ping and one 15 s after it).
    std::int64_t start_ms = 0;
    {
        schema::TapeStore tape(o.tape, schema::OpenMode::read);
        start_ms = *tape.connections(1).front().handshake_offset_ns / 1'000'000;
    }
    for (const bool synth : {true, false}) {
        INFO("synth_heartbeats " << synth);
        o.synth_heartbeats = synth;
        RunningReplay replay(o);
        const auto to = [&](std::int64_t ms) {
            post_json(replay.port(), "/_mastotape/clock/advance?ms=" + std::to_string(ms));
        };
        RawConn sse(replay.port());
        sse.send("GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(sse.wait_for("\r\n3\r\n:)\n\r\n"));
        CHECK(thumps(sse) == 0);
        to(start_ms + 14'900);
        CHECK(thumps(sse) == 0);
        to(200);  // 15.1 s from the start
        CHECK(thumps(sse) == (synth ? 1 : 0));
        to(14'800);  // 29.9 s
        CHECK(thumps(sse) == (synth ? 1 : 0));
        to(200);  // 30.1 s
        CHECK(thumps(sse) == (synth ? 2 : 0));
        to(15'000);  // 45.1 s
        CHECK(thumps(sse) == (synth ? 3 : 0));
    }
}

namespace {

// A WebSocket tape whose first connection goes silent (the server died) 75 s before the recorder's
// watchdog ended it, on a virtual clock: where it started, its last ping, where it ended.
struct SilentTape {
    replay::ReplayOptions options;
    std::int64_t start = -1;
    std::int64_t last_ping = 0;
    std::int64_t end = 0;
};

SilentTape silent_tape(const TempDir& dir) {
    schema::SynthOptions so;
    so.events = 3;
    so.rate = 0.05;
    so.connection_ends = {"heartbeat-timeout"};
    SilentTape t;
    t.options.tape = make_tape(dir, so);
    t.options.clock = replay::ClockMode::virtual_clock;
    {
        schema::TapeStore tape(t.options.tape, schema::OpenMode::read);
        const auto first = tape.connections(1).front();
        t.start = *first.handshake_offset_ns;
        t.end = *first.ended_offset_ns;
    }
    for (const auto& f : tape_frames(t.options.tape)) {
        if (f.connection_idx == 0 && f.columns.kind == schema::FrameKind::ping) {
            t.last_ping = f.offset_ns;
        }
    }
    REQUIRE(t.end - t.last_ping > 60'000'000'000);
    return t;
}

}  // namespace

TEST_CASE("Over SSE a WebSocket tape's silence stays silent: no :thump 30 s past its last ping") {
    TempDir dir;
    const SilentTape t = silent_tape(dir);
    const std::int64_t start = t.start;
    const std::int64_t last_ping = t.last_ping;
    const std::int64_t end = t.end;
    RunningReplay replay(t.options);
    RawConn sse(replay.port());
    sse.send("GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(sse.wait_for(":)"));
    post_json(replay.port(),
              "/_mastotape/clock/advance?ms=" + std::to_string((end - 1'000'000'000) / 1'000'000));
    sse.settle();
    std::size_t thumps = 0;
    for (const auto& c : body_chunks(sse.data())) {
        thumps += c == ":thump\n\n" ? 1 : 0;
    }
    // One every 15 s from the start while the server was alive: up to 30 s after its last ping.
    const auto expected =
        static_cast<std::size_t>((last_ping + 30'000'000'000 - start) / 15'000'000'000);
    CHECK(thumps == expected);
}

TEST_CASE("A client that comes back inside a recorded silence gets no fresh :thump (issue 35)") {
    TempDir dir;
    const SilentTape t = silent_tape(dir);
    const std::int64_t last_ping = t.last_ping;
    RunningReplay replay(t.options);
    const auto advance_to = [&](std::int64_t ns) {
        const auto now = get_json(replay.port(), "/_mastotape/status")["tape_offset_ns"];
        post_json(replay.port(), "/_mastotape/clock/advance?ms=" +
                                     std::to_string((ns - now.get<std::int64_t>()) / 1'000'000));
    };
    {
        RawConn first(replay.port());
        first.send("GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(first.wait_for(":)"));
        advance_to(last_ping + 31'000'000'000);  // into the silence: the server is dead
        first.settle();
    }
    // Back inside the silence, twice: each connection resumes where the clock stands, and the
    // dead server sends it nothing, not 15 s after it came (59 s past the last ping in all).
    for (const int wait_ms : {16'000, 12'000}) {
        RawConn back(replay.port());
        back.send("GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(back.wait_for("\r\n\r\n"));
        post_json(replay.port(), "/_mastotape/clock/advance?ms=" + std::to_string(wait_ms));
        back.settle();
        INFO(back.data());
        CHECK(back.data().find(":thump") == std::string::npos);
    }
}

TEST_CASE(
    "Faults play over SSE too: drop-after cuts the body and the client resumes, "
    "malformed-at cuts an event, close-at ends the body") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 6;
    so.transport = schema::Transport::sse;
    so.subscriptions = {{"hashtag", "rust"}};
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    const auto frames = tape_frames(o.tape);
    const auto events = event_bytes(frames);
    REQUIRE(events.size() == 6);
    const std::string request =
        "GET /api/v1/streaming/hashtag?tag=rust HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto count = [](const std::string& body, const std::string& what) {
        std::size_t n = 0;
        for (auto at = body.find(what); at != std::string::npos; at = body.find(what, at + 1)) {
            ++n;
        }
        return n;
    };
    const std::string body_end = "\r\n0\r\n\r\n";
    SECTION("drop-after") {
        std::string spec_error;
        o.faults.push_back(*replay::parse_fault("drop-after=2", spec_error));
        RunningReplay replay(o);
        RawConn first(replay.port());
        first.send(request);
        REQUIRE(first.wait_end());
        CHECK(count(first.data(), "event: update\n") == 2);
        CHECK(sse_body(first.data()).find(events[1]) != std::string::npos);
        CHECK(first.data().find(body_end) == std::string::npos);  // no clean end
        RawConn again(replay.port());
        again.send(request);
        REQUIRE(again.wait_end());
        CHECK(again.data().find(":)\n") != std::string::npos);  // a new response starts so
        CHECK(count(again.data(), "event: update\n") == 4);
        CHECK(sse_body(again.data()).find(events[2]) != std::string::npos);
        CHECK(sse_body(again.data()).find(events[1]) == std::string::npos);
        CHECK(again.data().find(body_end) != std::string::npos);
    }
    SECTION("malformed-at") {
        std::string spec_error;
        o.faults.push_back(*replay::parse_fault("malformed-at=1", spec_error));
        RunningReplay replay(o);
        RawConn sse(replay.port());
        sse.send(request);
        REQUIRE(sse.wait_end());
        const std::string body = sse_body(sse.data());
        CHECK(body.find(events[0].substr(0, events[0].size() / 2) + "\n\n") != std::string::npos);
        CHECK(body.find(events[0]) == std::string::npos);
        CHECK(body.find(events[1]) != std::string::npos);
    }
    SECTION("close-at") {
        std::vector<std::int64_t> at;
        for (const auto& f : frames) {
            if (f.columns.kind == schema::FrameKind::event) {
                at.push_back(f.offset_ns);
            }
        }
        std::string spec_error;
        const double t = static_cast<double>(at[2] + at[3]) / 2e9;  // between events 3 and 4
        o.faults.push_back(
            *replay::parse_fault("close-at=" + std::to_string(t) + ":1000", spec_error));
        RunningReplay replay(o);
        RawConn sse(replay.port());
        sse.send(request);
        REQUIRE(sse.wait_end());
        CHECK(count(sse.data(), "event: update\n") == 3);
        CHECK(sse.data().find(body_end) != std::string::npos);
    }
}
