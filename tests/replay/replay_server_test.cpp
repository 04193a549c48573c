#include "replay/replay_server.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "schema/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::http_get;
using mastotape::test::raw_http;
using mastotape::test::RunningReplay;
using mastotape::test::TempDir;

namespace {

std::string make_tape(const TempDir& dir, schema::SynthOptions o) {
    const auto path = dir.file("tape.db");
    schema::TapeStore store(path, schema::OpenMode::create);
    schema::synthesize(store, o);
    return path;
}

// What a bare WebSocket client that never answers the close receives on /api/v1/streaming?QUERY:
// it reads until the 2 s receive timeout.
std::string upgrade_and_read(std::uint16_t port, const std::string& query) {
    return raw_http(port, "GET /api/v1/streaming?" + query +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: "
                              "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n");
}

struct WireFrame {
    bool fin = false;
    bool masked = false;
    int opcode = 0;
    std::string payload;
};

// The WebSocket frames after the 101 response in `wire`, exactly as they came; fails the test
// on a truncated frame.
std::vector<WireFrame> frames_on_wire(const std::string& wire) {
    REQUIRE_THAT(wire, Catch::StartsWith("HTTP/1.1 101"));
    std::vector<WireFrame> out;
    std::size_t pos = wire.find("\r\n\r\n") + 4;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(wire[i]); };
    while (pos + 2 <= wire.size()) {
        WireFrame f;
        f.fin = (byte(pos) & 0x80) != 0;
        f.opcode = byte(pos) & 0x0f;
        f.masked = (byte(pos + 1) & 0x80) != 0;
        std::uint64_t n = byte(pos + 1) & 0x7f;
        pos += 2;
        const std::size_t extra = n == 126 ? 2 : n == 127 ? 8 : 0;
        REQUIRE(pos + extra <= wire.size());
        if (extra > 0) {
            n = 0;
            for (std::size_t i = 0; i < extra; ++i) {
                n = (n << 8) | byte(pos + i);
            }
            pos += extra;
        }
        REQUIRE(pos + n <= wire.size());
        f.payload = wire.substr(pos, n);
        pos += n;
        out.push_back(std::move(f));
    }
    CHECK(pos == wire.size());
    return out;
}

}  // namespace

TEST_CASE("The replayer answers health, instance and unknown-channel requests as Mastodon does") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 5;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    RunningReplay replay(o);
    const std::string base = "127.0.0.1:" + std::to_string(replay.port());

    const auto health = http_get(replay.port(), "/api/v1/streaming/health");
    CHECK_THAT(health, Catch::StartsWith("HTTP/1.1 200 OK"));
    CHECK_THAT(health, Catch::Contains("Cache-Control: private, no-store"));
    CHECK(health.substr(health.size() - 4) == "\r\nOK");

    for (const char* path : {"/api/v1/instance", "/api/v1/instance/"}) {
        const auto v1 = http_get(replay.port(), path);
        CHECK_THAT(v1, Catch::StartsWith("HTTP/1.1 200 OK"));
        CHECK_THAT(v1, Catch::Contains("\"version\":\"4.7.0\""));
        CHECK_THAT(v1, Catch::Contains("\"streaming_api\":\"ws://" + base + "\""));
    }
    CHECK_THAT(http_get(replay.port(), "/api/v2/instance"),
               Catch::Contains("\"streaming\":\"ws://" + base + "\""));

    const auto unknown = http_get(replay.port(), "/api/v1/streaming/public/");
    CHECK_THAT(unknown, Catch::StartsWith("HTTP/1.1 400"));
    CHECK_THAT(unknown, Catch::Contains("{\"error\":\"Unknown channel requested\"}"));
}

TEST_CASE("A wrong or missing token gets the real server's hand-written 401") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 5;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.require_token = "right";
    RunningReplay replay(o);
    const std::string upgrade =
        "GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
        "dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const auto wrong = raw_http(replay.port(), upgrade + "Authorization: Bearer wrong\r\n\r\n");
    CHECK_THAT(wrong, Catch::StartsWith("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n"
                                        "Content-Type: text/plain\r\nContent-Length: 0\r\n"));
    CHECK_THAT(wrong, Catch::Contains("X-Error-Message: Invalid access token\r\n"));
    CHECK_THAT(raw_http(replay.port(), upgrade + "\r\n"),
               Catch::Contains("X-Error-Message: Missing access token\r\n"));

    const auto accepted =
        raw_http(replay.port(), upgrade + "Sec-WebSocket-Protocol: right\r\n\r\n");
    CHECK_THAT(accepted, Catch::StartsWith("HTTP/1.1 101"));
    CHECK_THAT(accepted, Catch::Contains("Connection: Upgrade\r\n"));
    CHECK_THAT(accepted, Catch::Contains("Sec-WebSocket-Protocol: right\r\n"));
    CHECK_THAT(accepted, Catch::Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    CHECK(accepted.find("Date:") == std::string::npos);
    // Known difference: Beast always adds `Server: Boost.Beast/...` to the 101; the real server
    // sends no Server header. No client is known to look at it.

    const auto sse =
        http_get(replay.port(), "/api/v1/streaming/user", "Authorization: Bearer nope\r\n");
    CHECK_THAT(sse, Catch::StartsWith("HTTP/1.1 401"));
    CHECK_THAT(sse, Catch::Contains("{\"error\":\"Invalid access token\"}"));
}

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
    CHECK_THAT(res, Catch::Contains("event: update\ndata: {\"id\":"));
    const auto missing = http_get(replay.port(), "/api/v1/streaming/hashtag");
    CHECK_THAT(missing, Catch::Contains("{\"error\":\"Missing tag name parameter\"}"));
}

TEST_CASE("Each message goes out as one unfragmented frame, whatever its size, as from Mastodon") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 20;
    so.subscriptions = {{"public", ""}};
    so.event_mix = {"update"};
    const auto path = make_tape(dir, so);
    std::vector<std::string> expected;
    {
        // One event far over Beast's 4 KB write buffer, which Beast would split into fragments.
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        const std::string big = R"({"stream":["public"],"event":"update","payload":")" +
                                std::string(70'000, 'x') + R"("})";
        SQLite::Statement update(db,
                                 "UPDATE frames SET bytes = ? WHERE seq = (SELECT min(seq) + 3 "
                                 "FROM frames WHERE kind = 'event')");
        update.bind(1, big.data(), static_cast<int>(big.size()));
        REQUIRE(update.exec() == 1);
        SQLite::Statement events(db, "SELECT bytes FROM frames WHERE kind = 'event' ORDER BY seq");
        while (events.executeStep()) {
            const auto c = events.getColumn(0);
            expected.emplace_back(static_cast<const char*>(c.getBlob()),
                                  static_cast<std::size_t>(c.getBytes()));
        }
    }
    replay::ReplayOptions o;
    o.tape = path;
    o.clock = replay::ClockMode::max_speed;
    RunningReplay replay(o);
    std::vector<std::string> texts;
    bool closed = false;
    for (const auto& f : frames_on_wire(upgrade_and_read(replay.port(), "stream=public"))) {
        CHECK(f.fin);
        CHECK_FALSE(f.masked);
        CHECK(f.opcode != 0);  // no continuation frames
        if (f.opcode == 1) {
            texts.push_back(f.payload);
        } else if (f.opcode == 8) {
            closed = true;
            CHECK(f.payload.substr(0, 2) == std::string("\x03\xe8", 2));  // 1000: the tape's end
        }
    }
    CHECK(closed);
    CHECK(texts == expected);
}

TEST_CASE("At a real-time clock, status reports how late each frame that went out was") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 20;
    so.rate = 100;
    so.subscriptions = {{"public", ""}};
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.speed = 10;
    RunningReplay replay(o);
    const auto lateness = [&] {
        const auto response = http_get(replay.port(), "/_mastotape/status");
        return nlohmann::json::parse(response.substr(response.find("\r\n\r\n") + 4)).at("lateness");
    };
    // A client of another stream gets none of the tape's events (only its pings), and the
    // events it did not get are not counted.
    std::int64_t pings = 0;
    for (const auto& f :
         frames_on_wire(upgrade_and_read(replay.port(), "stream=user&access_token=a"))) {
        CHECK(f.opcode != 1);
        pings += f.opcode == 9 ? 1 : 0;
    }
    const auto before = lateness().at("frames").get<std::int64_t>();
    CHECK(before == pings);
    std::int64_t sent = 0;
    for (const auto& f :
         frames_on_wire(upgrade_and_read(replay.port(), "stream=public&access_token=b"))) {
        sent += f.opcode == 1 || f.opcode == 9 ? 1 : 0;  // events and pings, not the close
    }
    CHECK(sent >= 20);
    const auto after = lateness();
    CHECK(after.at("frames").get<std::int64_t>() - before == sent);
    CHECK(after.at("p50_us").get<std::int64_t>() <= after.at("p99_us").get<std::int64_t>());
    CHECK(after.at("max_us").get<double>() >= after.at("p99_us").get<double>());
}
