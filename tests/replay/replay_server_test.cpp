#include "replay/replay_server.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <poll.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "schema/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

// A replay of a synthesized 5-event tape on the real-time clock, the tape in `dir`.
replay::ReplayOptions five_event_tape(const TempDir& dir) {
    schema::SynthOptions so;
    so.events = 5;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    return o;
}

}  // namespace

TEST_CASE("The replayer answers health, instance and unknown-channel requests as Mastodon does") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
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
    replay::ReplayOptions o = five_event_tape(dir);
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
    CHECK(accepted.find("Server:") == std::string::npos);  // the real server sends none

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
    CHECK_THAT(sse_body(res), Catch::Contains("event: update\ndata: {\"id\":"));
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
        // One event far over Beast's 4 KB write buffer, which Beast would split into fragments,
        // stored as a tape older than compression keeps it.
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        const std::string big = R"({"stream":["public"],"event":"update","payload":")" +
                                std::string(70'000, 'x') + R"("})";
        SQLite::Statement update(db,
                                 "UPDATE frames SET bytes = ?, codec = 0, dictionary_id = NULL, "
                                 "length = NULL, checksum = NULL WHERE seq = (SELECT min(seq) + 3 "
                                 "FROM frames WHERE kind = 'event')");
        update.bind(1, big.data(), static_cast<int>(big.size()));
        REQUIRE(update.exec() == 1);
    }
    {
        schema::TapeStore store(path, schema::OpenMode::read);
        auto cursor = store.frames_from_seq(1, 1);
        for (schema::Frame f; cursor.next(f);) {
            if (f.columns.kind == schema::FrameKind::event) {
                expected.push_back(f.bytes);
            }
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

namespace {

using schema::FrameKind;

// The opcode a tape frame goes out with on a WebSocket.
int opcode_of(const schema::Frame& f) {
    return f.columns.kind == FrameKind::ping ? 9 : f.columns.kind == FrameKind::binary ? 2 : 1;
}

void expect_frame(RawWs& ws, const schema::Frame& f) {
    const auto w = ws.next();
    INFO("tape frame " << f.seq);
    REQUIRE(w);
    CHECK(w->opcode == opcode_of(f));
    CHECK(w->payload == f.bytes);
}

std::int64_t offset_of(const nlohmann::json& j) {
    return j.at("tape_offset_ns").get<std::int64_t>();
}

std::string close_payload(int code, const std::string& reason = "") {
    return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)} + reason;
}

std::vector<std::string> texts_of(const std::vector<WireFrame>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) {
        if (f.opcode == 1) {
            out.push_back(f.payload);
        }
    }
    return out;
}

std::vector<std::string> event_bytes(const std::vector<schema::Frame>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) {
        if (f.columns.kind == FrameKind::event) {
            out.push_back(f.bytes);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("On a virtual clock nothing plays until the control API moves time, frame by frame") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 6;
    so.rate = 0.1;  // about a minute: pings at 30 s
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    const auto frames = tape_frames(o.tape);
    REQUIRE(frames.size() >= 8);
    RunningReplay replay(o);
    const auto port = replay.port();
    RawWs ws(port, "stream=user");
    REQUIRE(ws.upgraded());
    CHECK_FALSE(ws.next(0.3));

    auto j = get_json(port, "/_mastotape/clock/run-to?next=frame");
    CHECK(offset_of(j) == frames[0].offset_ns);
    expect_frame(ws, frames[0]);
    CHECK_FALSE(ws.next(0.3));

    j = get_json(port, "/_mastotape/clock/run-to?seq=" + std::to_string(frames[3].seq));
    CHECK(offset_of(j) == frames[3].offset_ns);
    for (std::size_t i = 1; i <= 3; ++i) {
        expect_frame(ws, frames[i]);
    }
    CHECK_FALSE(ws.next(0.3));

    const auto ping = std::find_if(frames.begin() + 4, frames.end(),
                                   [](const auto& f) { return f.columns.kind == FrameKind::ping; });
    REQUIRE(ping != frames.end());
    j = get_json(port, "/_mastotape/clock/run-to?next=heartbeat");
    CHECK(offset_of(j) == ping->offset_ns);
    for (auto it = frames.begin() + 4; it <= ping; ++it) {
        expect_frame(ws, *it);
    }
    CHECK_FALSE(ws.next(0.3));

    j = get_json(port, "/_mastotape/clock/advance?ms=1500");
    const std::int64_t now = ping->offset_ns + 1'500'000'000;
    CHECK(offset_of(j) == now);
    for (auto it = ping + 1; it != frames.end() && it->offset_ns <= now; ++it) {
        expect_frame(ws, *it);
    }
    CHECK_FALSE(ws.next(0.3));

    const auto status = get_json(port, "/_mastotape/status");
    CHECK(status.at("clock") == "virtual");
    CHECK(offset_of(status) == now);
    CHECK(status.at("live_connections") == 1);
    CHECK(status.at("paused") == false);
    REQUIRE(status.at("clients").size() == 1);
    CHECK(status.at("clients")[0].at("subscriptions") == nlohmann::json::parse(R"([["user"]])"));
    // What the dashboard shows: the tape, each client's connections, the faults.
    CHECK(status.at("tape").at("streams") == nlohmann::json::parse(R"(["user"])"));
    CHECK(status.at("tape").at("frames") == static_cast<std::int64_t>(frames.size()));
    CHECK(status.at("tape").at("length_ns").get<std::int64_t>() >= frames.back().offset_ns);
    REQUIRE(status.at("clients")[0].at("connections").size() == 1);
    CHECK(status.at("clients")[0].at("connections")[0].at("how") == "open");
    CHECK(status.at("clients")[0].at("lateness").at("frames") == 0);  // a virtual clock
    CHECK(status.at("faults").at("faults").empty());
    CHECK(status.at("report_kept") == false);

    // The dashboard: a page of the replayer's own, allowed to talk to it alone.
    const std::string page = http_get(port, "/_mastotape/");
    CHECK_THAT(page, Catch::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(page, Catch::Contains("Content-Type: text/html; charset=utf-8"));
    CHECK_THAT(page, Catch::Contains("Content-Security-Policy: default-src 'none'"));
    CHECK_THAT(page, Catch::Contains("<title>mastotape replay</title>"));

    // Bad requests are refused with a reason, and the server goes on.
    for (const char* bad : {"/_mastotape/clock/advance?ms=abc", "/_mastotape/clock/advance",
                            "/_mastotape/clock/advance?ms=-5", "/_mastotape/clock/run-to",
                            "/_mastotape/clock/run-to?seq=x", "/_mastotape/clock/run-to?next=no"}) {
        int code = 0;
        const auto body = get_json(port, bad, &code);
        INFO(bad);
        CHECK(code == 400);
        CHECK(body.contains("error"));
    }
    // A value that is there but wrong is not reported as missing.
    CHECK(get_json(port, "/_mastotape/clock/advance?ms=-1").at("error") ==
          "ms= must be a number of milliseconds from 0 to 1e12");
    CHECK(offset_of(get_json(port, "/_mastotape/status")) == now);
    CHECK_FALSE(ws.next(0.3));
}

TEST_CASE("The clock endpoints answer 409 unless the clock is virtual") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    RunningReplay replay(o);
    int code = 0;
    const auto body = get_json(replay.port(), "/_mastotape/clock/advance?ms=10", &code);
    CHECK(code == 409);
    CHECK_THAT(body.at("error").get<std::string>(), Catch::Contains("--virtual-clock"));
}

TEST_CASE(
    "A recorded close and gap play as recorded: the code, the failed attempts, then the "
    "next connection, and 503 after the tape's end") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 10;
    so.rate = 1;
    so.connection_ends = {"close"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    const auto frames = tape_frames(o.tape);
    const std::int64_t second = frames.back().connection_idx;
    REQUIRE(second > frames.front().connection_idx);
    RunningReplay replay(o);
    const auto port = replay.port();

    RawWs first(port, "stream=user");
    REQUIRE(first.upgraded());
    get_json(port, "/_mastotape/clock/run-to?next=gap");
    for (const auto& f : frames) {
        if (f.connection_idx == frames.front().connection_idx) {
            expect_frame(first, f);
        }
    }
    const auto close = first.next();
    REQUIRE(close);
    CHECK(close->opcode == 8);
    CHECK(close->payload == close_payload(1001, "going away"));

    // In the gap, an attempt fails as the recorded one did (synth records 502s).
    RawWs refused(port, "stream=user");
    CHECK_THAT(refused.response(), Catch::StartsWith("HTTP/1.1 502"));
    CHECK(refused.wait_end());

    const auto first_of_second = std::find_if(
        frames.begin(), frames.end(), [&](const auto& f) { return f.connection_idx == second; });
    get_json(port, "/_mastotape/clock/run-to?seq=" + std::to_string(first_of_second->seq));
    RawWs next(port, "stream=user");
    REQUIRE(next.upgraded());
    expect_frame(next, *first_of_second);
    get_json(port, "/_mastotape/clock/run-to?next=gap");
    for (auto it = first_of_second + 1; it != frames.end(); ++it) {
        expect_frame(next, *it);
    }
    const auto end = next.next();
    REQUIRE(end);
    CHECK(end->opcode == 8);
    CHECK(end->payload == close_payload(1000));

    RawWs after(port, "stream=user");
    CHECK_THAT(after.response(), Catch::StartsWith("HTTP/1.1 503"));
    CHECK_THAT(after.response(), Catch::Contains("X-Error-Message: the tape has ended\r\n"));
}

TEST_CASE(
    "Client pings get the same payload back, bad subscriptions the real server's error "
    "frames, and a binary frame a 1003 close") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;  // no tape frames get in the way
    RunningReplay replay(o);
    RawWs ws(replay.port(), "stream=user");
    REQUIRE(ws.upgraded());
    CHECK(ws.response().find("Sec-WebSocket-Protocol") == std::string::npos);  // none offered
    CHECK(ws.response().find("Server:") == std::string::npos);

    ws.send_frame(9, "are you there");
    auto f = ws.next();
    REQUIRE(f);
    CHECK(f->opcode == 10);
    CHECK(f->payload == "are you there");

    const std::vector<std::pair<std::string, std::string>> errors = {
        {R"({"type":"subscribe","stream":"nope"})",
         R"({"error":"Unknown stream type","status":400})"},
        {R"({"type":"subscribe","stream":"hashtag"})",
         R"({"error":"Missing tag name parameter","status":400})"},
        {R"({"type":"subscribe","stream":"list"})",
         R"({"error":"Missing list name parameter","status":400})"},
        {R"({"type":"unsubscribe","stream":"nope"})",
         R"({"error":"Error unsubscribing from channel"})"},
    };
    for (const auto& [sent, answer] : errors) {
        ws.send_frame(1, sent);
        f = ws.next();
        INFO(sent);
        REQUIRE(f);
        CHECK(f->opcode == 1);
        CHECK(f->payload == answer);
    }
    ws.send_frame(1, R"({"type":"bogus"})");
    ws.send_frame(1, R"({"type":"subscribe","stream":"hashtag","tag":"rust"})");
    CHECK_FALSE(ws.next(0.3));  // unknown types are ignored, as by the real server
    const auto status = get_json(replay.port(), "/_mastotape/status");
    CHECK(status.at("clients")[0].at("subscriptions") ==
          nlohmann::json::parse(R"([["user"],["hashtag","rust"]])"));
    // The error frames went out; no tape frame has been played on the standing virtual clock.
    CHECK(status.at("clients")[0].at("frames_sent") == errors.size());
    CHECK(status.at("clients")[0].at("position_ns").is_null());

    ws.send_frame(2, "\x01\x02");
    f = ws.next();
    REQUIRE(f);
    CHECK(f->opcode == 8);
    CHECK(f->payload ==
          close_payload(1003, "The mastodon streaming server does not support binary messages"));
}

TEST_CASE(
    "With --kill-unresponsive, the replayer drops a client that missed a ping's pong with no close "
    "frame, "
    "and only with it") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 4;
    so.rate = 0.04;  // pings at 30 and 60 s
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    for (const bool kill : {true, false}) {
        o.kill_unresponsive = kill;
        INFO("--kill-unresponsive " << kill);
        RunningReplay replay(o);
        RawWs answers(replay.port(), "stream=user&access_token=a");
        RawWs silent(replay.port(), "stream=user&access_token=b");
        const auto pings_until_quiet = [](RawWs& ws, bool pong) {
            int pings = 0;
            for (const auto& f : ws.drain(0.5)) {
                CHECK(f.opcode != 8);  // never a close frame
                if (f.opcode == 9) {
                    ++pings;
                    if (pong) {
                        ws.send_frame(10, f.payload);
                    }
                }
            }
            return pings;
        };
        get_json(replay.port(), "/_mastotape/clock/run-to?next=heartbeat");
        CHECK(pings_until_quiet(answers, true) == 1);
        CHECK(pings_until_quiet(silent, false) == 1);
        get_json(replay.port(), "/_mastotape/clock/run-to?next=heartbeat");
        CHECK(pings_until_quiet(answers, true) == 1);
        if (kill) {
            // Dropped within the second it is given to answer, before the second ping.
            CHECK(silent.wait_end(5));
            CHECK(pings_until_quiet(silent, false) == 0);
        } else {
            CHECK(pings_until_quiet(silent, false) == 1);
            CHECK_FALSE(silent.ended());
        }
        CHECK_FALSE(answers.ended());
    }
}

TEST_CASE("pause stops every clock and resume goes on where it stopped, losing nothing") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 40;
    so.rate = 20;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    const auto expected = event_bytes(tape_frames(o.tape));
    RunningReplay replay(o);
    RawWs ws(replay.port(), "stream=user");
    std::vector<WireFrame> got;
    got.push_back(*ws.next());
    CHECK(get_json(replay.port(), "/_mastotape/pause").at("paused") == true);
    CHECK(get_json(replay.port(), "/_mastotape/status").at("paused") == true);
    for (auto& f : ws.drain(0.2)) {  // what was on its way
        got.push_back(std::move(f));
    }
    const auto frozen = offset_of(get_json(replay.port(), "/_mastotape/status"));
    CHECK_FALSE(ws.next(0.7));  // at 20 events a second, 14 would have come
    CHECK(offset_of(get_json(replay.port(), "/_mastotape/status")) == frozen);
    CHECK(get_json(replay.port(), "/_mastotape/resume").at("paused") == false);
    for (auto& f : ws.drain(2)) {
        got.push_back(std::move(f));
    }
    CHECK(texts_of(got) == expected);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().opcode == 8);
}

TEST_CASE(
    "Each token is a client with its own cursor, and the end of the tape refuses it with 503 "
    "until reset, or --loop starts it over") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    const auto expected = event_bytes(tape_frames(o.tape));
    {
        RunningReplay replay(o);
        const auto port = replay.port();
        const auto play = [&](const std::string& query) {
            RawWs ws(port, query);
            if (!ws.upgraded()) {
                return ws.response().substr(0, 12);
            }
            CHECK(texts_of(ws.drain()) == expected);
            return std::string("played");
        };
        CHECK(play("stream=user&access_token=a") == "played");
        CHECK(play("stream=user&access_token=a") == "HTTP/1.1 503");
        CHECK(play("stream=user&access_token=b") == "played");
        CHECK(play("stream=user") == "played");  // no token: the anonymous client
        CHECK(play("stream=user") == "HTTP/1.1 503");
        auto status = get_json(port, "/_mastotape/status");
        REQUIRE(status.at("clients").size() == 3);
        for (const auto& c : status.at("clients")) {
            CHECK(c.at("finished") == true);
            CHECK(c.at("name").get<std::string>().rfind("client ", 0) == 0);
        }
        // The status never shows a token: clients are named in the order they came.
        CHECK(get_json(port, "/_mastotape/reset?client=client%201").at("reset") == 1);
        CHECK(play("stream=user&access_token=a") == "played");
        CHECK(play("stream=user&access_token=b") == "HTTP/1.1 503");
        int code = 0;
        get_json(port, "/_mastotape/reset?client=nobody", &code);
        CHECK(code == 404);
    }
    o.loop = true;
    RunningReplay replay(o);
    for (int i = 0; i < 2; ++i) {
        RawWs ws(replay.port(), "stream=user");
        REQUIRE(ws.upgraded());
        CHECK(texts_of(ws.drain()) == expected);
    }
}

TEST_CASE(
    "With --exit-when-done, run() returns 0 once every client played the tape, 1 when none came") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    o.exit_when_done = true;
    o.idle_timeout_s = 1;
    {
        replay::ReplayServer server(o);
        auto run = std::async(std::launch::async, [&] { return server.run(); });
        {
            RawWs ws(server.port(), "stream=user");
            CHECK(ws.drain().size() >= 5);
        }
        REQUIRE(run.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
        CHECK(run.get() == 0);
    }
    replay::ReplayServer idle(o);
    auto run = std::async(std::launch::async, [&] { return idle.run(); });
    REQUIRE(run.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    CHECK(run.get() == 1);
}

TEST_CASE("With --exit-when-done, REST requests still coming after the last stream are answered") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    o.exit_when_done = true;
    replay::ReplayServer server(o);
    auto run = std::async(std::launch::async, [&] { return server.run(); });
    {
        RawWs ws(server.port(), "stream=user");
        CHECK(ws.drain().size() >= 5);
    }
    // A backfill's pages, one after another, as a recorder asks them after its last reconnect;
    // a dashboard polling the control API does not keep the replayer up.
    for (int page = 0; page < 4; ++page) {
        INFO(page);
        const std::string answer = http_get(server.port(), "/api/v1/timelines/home?limit=2");
        CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200"));
        CHECK(run.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
    }
    for (int i = 0;
         i < 3 && run.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready; ++i) {
        http_get(server.port(), "/_mastotape/status");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(run.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    CHECK(run.get() == 0);
}

TEST_CASE(
    "With --hold, the replayer keeps the last connection open and silent after the tape's end") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    o.hold = true;
    RunningReplay replay(o);
    RawWs ws(replay.port(), "stream=user");
    const auto frames = ws.drain(1.5);
    CHECK(texts_of(frames).size() == 5);
    for (const auto& f : frames) {
        CHECK(f.opcode != 8);
    }
    CHECK_FALSE(ws.ended());
    ws.send_frame(9, "x");  // and it still answers
    const auto pong = ws.next();
    REQUIRE(pong);
    CHECK(pong->opcode == 10);
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
        get_json(replay.port(), "/_mastotape/clock/advance?ms=30000");
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
            get_json(replay.port(), "/_mastotape/clock/advance?ms=" + std::to_string(ms));
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

TEST_CASE("Over SSE a WebSocket tape's silence stays silent: no :thump 30 s past its last ping") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    so.rate = 0.05;
    so.connection_ends = {"heartbeat-timeout"};  // the server goes silent, 75 s before the end
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    std::int64_t last_ping = 0;
    std::int64_t start = -1;
    std::int64_t end = 0;
    {
        schema::TapeStore tape(o.tape, schema::OpenMode::read);
        const auto first = tape.connections(1).front();
        start = *first.handshake_offset_ns;
        end = *first.ended_offset_ns;
    }
    for (const auto& f : tape_frames(o.tape)) {
        if (f.connection_idx == 0 && f.columns.kind == FrameKind::ping) {
            last_ping = f.offset_ns;
        }
    }
    REQUIRE(end - last_ping > 60'000'000'000);
    RunningReplay replay(o);
    RawConn sse(replay.port());
    sse.send("GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(sse.wait_for(":)"));
    get_json(replay.port(),
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
            if (f.columns.kind == FrameKind::event) {
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

TEST_CASE("stall sends nothing for its length, and slow paces the bytes") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 10;
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    const auto frames = tape_frames(o.tape);
    std::vector<std::int64_t> at;
    std::size_t bytes = 0;
    for (const auto& f : frames) {
        if (f.columns.kind == FrameKind::event) {
            at.push_back(f.offset_ns);
            bytes += f.bytes.size();
        }
    }
    REQUIRE(at.size() == 10);
    using Clock = std::chrono::steady_clock;
    const auto seconds_since = [](Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    };
    std::string spec_error;
    SECTION("stall") {
        const double t = static_cast<double>(at[2] + at[3]) / 2e9;
        o.faults.push_back(*replay::parse_fault("stall=" + std::to_string(t) + ":1.5", spec_error));
        RunningReplay replay(o);
        RawWs ws(replay.port(), "stream=user");
        for (int i = 0; i < 3; ++i) {
            REQUIRE(ws.next());
        }
        const auto third = Clock::now();
        CHECK_FALSE(ws.next(1.0));  // at max speed the rest would take milliseconds
        const auto fourth = ws.next(5);
        REQUIRE(fourth);
        CHECK(seconds_since(third) >= 1.4);
        CHECK(texts_of(ws.drain()).size() == 6);
    }
    SECTION("slow") {
        const std::size_t rate = bytes;  // the whole tape in about a second
        o.faults.push_back(*replay::parse_fault("slow=" + std::to_string(rate), spec_error));
        RunningReplay replay(o);
        const auto start = Clock::now();
        RawWs ws(replay.port(), "stream=user");
        CHECK(texts_of(ws.drain(2)).size() == 10);
        // Each frame waits for its bytes at the rate after it went: 9 of the 10 have waited
        // before the last goes out.
        CHECK(seconds_since(start) >= 0.8);
    }
}

TEST_CASE(
    "The REST timelines answer from the replay clock with Mastodon's paging, Link headers "
    "and rate limit") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 10;
    so.rate = 1;
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    o.rate_limit = 7;
    const auto frames = tape_frames(o.tape);
    std::vector<std::string> ids;  // oldest first
    for (const auto& f : frames) {
        if (f.columns.kind == FrameKind::event) {
            ids.push_back(*f.columns.object_id);
        }
    }
    REQUIRE(ids.size() == 10);
    RunningReplay replay(o);
    const auto port = replay.port();
    const auto page = [&](const std::string& query, std::string* link = nullptr) {
        const auto res = http_get(port, "/api/v1/timelines/home" + query);
        REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
        if (link != nullptr) {
            const auto at = res.find("\r\nLink: ");
            *link = at == std::string::npos ? ""
                                            : res.substr(at + 8, res.find("\r\n", at + 2) - at - 8);
        }
        std::vector<std::string> out;
        for (const auto& item : nlohmann::json::parse(res.substr(res.find("\r\n\r\n") + 4))) {
            out.push_back(item.at("id").get<std::string>());
        }
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(page("").empty());  // nothing has happened yet on the replay clock
    get_json(port, "/_mastotape/clock/run-to?seq=" + std::to_string(frames.back().seq));
    std::string link;
    CHECK(page("?limit=3", &link) == V{ids[9], ids[8], ids[7]});
    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/timelines/home";
    CHECK(link == "<" + base + "?limit=3&max_id=" + ids[7] + ">; rel=\"next\", <" + base +
                      "?limit=3&min_id=" + ids[9] + ">; rel=\"prev\"");
    CHECK(page("?limit=3&max_id=" + ids[7]) == V{ids[6], ids[5], ids[4]});
    CHECK(page("?since_id=" + ids[7]) == V{ids[9], ids[8]});
    CHECK(page("?min_id=" + ids[0] + "&limit=2") == V{ids[2], ids[1]});
    const auto res = http_get(port, "/api/v1/timelines/home");
    CHECK_THAT(res, Catch::Contains("X-RateLimit-Limit: 7\r\n"));
    CHECK_THAT(res, Catch::Contains("X-RateLimit-Remaining: 1\r\n"));
    CHECK_THAT(http_get(port, "/api/v1/timelines/home"),
               Catch::Contains("X-RateLimit-Remaining: 0\r\n"));
    const auto limited = http_get(port, "/api/v1/timelines/home");
    CHECK_THAT(limited, Catch::StartsWith("HTTP/1.1 429"));
    CHECK_THAT(limited, Catch::Contains("{\"error\":\"Too many requests\"}"));
}

TEST_CASE("refuse=K:STATUS refuses upgrades, rest-error=K:STATUS REST requests, in turn") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    RunningReplay replay(o);
    const auto port = replay.port();
    get_json(port, "/_mastotape/faults?add=refuse=1:429");
    auto j = get_json(port, "/_mastotape/faults?add=rest-error=2:503");
    CHECK(j.at("rest_errors_remaining") == 2);
    get_json(port, "/_mastotape/faults?add=rest-error=1:429");
    CHECK(get_json(port, "/_mastotape/status").at("faults").at("rest_errors_remaining") == 3);

    RawWs refused(port, "stream=user");
    CHECK_THAT(refused.response(), Catch::StartsWith("HTTP/1.1 429"));
    for (int i = 0; i < 2; ++i) {
        CHECK_THAT(http_get(port, "/api/v1/timelines/home"), Catch::StartsWith("HTTP/1.1 503"));
    }
    const auto limited = http_get(port, "/api/v1/notifications");
    CHECK_THAT(limited, Catch::StartsWith("HTTP/1.1 429"));
    CHECK_THAT(limited, Catch::Contains("X-RateLimit-Remaining: 0\r\n"));
    CHECK_THAT(limited, Catch::Contains("X-RateLimit-Reset: "));
    // The control API is never refused, and the next requests are answered again.
    CHECK(get_json(port, "/_mastotape/status").at("faults").at("rest_errors_remaining") == 0);
    CHECK_THAT(http_get(port, "/api/v1/timelines/home"), Catch::StartsWith("HTTP/1.1 200"));
    RawWs admitted(port, "stream=user");
    CHECK(admitted.upgraded());
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
        if (f.columns.kind == FrameKind::event) {
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

TEST_CASE("The token comes from Authorization first, then access_token, then the subprotocol") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    o.require_token = "right";
    RunningReplay replay(o);
    const auto status_of = [&](const std::string& query, const std::string& headers) {
        RawWs ws(replay.port(), query, headers);
        return ws.response().substr(9, 3);
    };
    CHECK(status_of("stream=user&access_token=wrong", "Authorization: Bearer right\r\n") == "101");
    CHECK(status_of("stream=user&access_token=right", "Authorization: Bearer wrong\r\n") == "401");
    CHECK(status_of("stream=user&access_token=right", "Sec-WebSocket-Protocol: wrong\r\n") ==
          "101");
    CHECK(status_of("stream=user", "Authorization: right\r\n") == "101");  // no "Bearer ": all
    CHECK(status_of("stream=user", "Sec-WebSocket-Protocol: wrong\r\n") == "401");
}

TEST_CASE("Faults can be added and cleared at run time through the control API") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    const auto expected = event_bytes(tape_frames(o.tape));
    RunningReplay replay(o);
    const auto port = replay.port();
    auto j = get_json(port, "/_mastotape/faults?add=drop-after=2");
    CHECK(j.at("faults") == nlohmann::json::array({"drop-after=2"}));
    j = get_json(port, "/_mastotape/faults?add=refuse=1");
    CHECK(j.at("refuse_remaining") == 1);
    int code = 0;
    j = get_json(port, "/_mastotape/faults?add=explode=1", &code);
    CHECK(code == 400);
    CHECK_THAT(j.at("error").get<std::string>(), Catch::Contains("explode"));
    // A spec that is not UTF-8 is echoed as valid JSON (found by fuzz_http_requests: the answer
    // was not JSON).
    j = get_json(port, "/_mastotape/faults?add=refuse%3D2%B3", &code);
    CHECK(code == 400);
    CHECK_THAT(j.at("error").get<std::string>(), Catch::Contains("refuse=2\xef\xbf\xbd"));

    RawWs refused(port, "stream=user");
    CHECK_THAT(refused.response(), Catch::StartsWith("HTTP/1.1 503"));
    {
        RawWs cut(port, "stream=user");
        REQUIRE(cut.upgraded());
        const auto frames = cut.drain();
        CHECK(texts_of(frames) == std::vector<std::string>(expected.begin(), expected.begin() + 2));
        CHECK(cut.ended());
        for (const auto& f : frames) {
            CHECK(f.opcode != 8);
        }
    }
    j = get_json(port, "/_mastotape/faults?clear=1");
    CHECK(j.at("faults").empty());
    RawWs rest(port, "stream=user");
    CHECK(texts_of(rest.drain()) == std::vector<std::string>(expected.begin() + 2, expected.end()));
}

TEST_CASE("With --shared-clock every client sees one broadcast timeline") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 80;
    so.rate = 20;  // four seconds
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.shared_clock = true;
    const auto expected = event_bytes(tape_frames(o.tape));
    RunningReplay replay(o);
    RawWs early(replay.port(), "stream=user&access_token=a");
    for (int i = 0; i < 20; ++i) {  // a second of the timeline goes by
        REQUIRE(early.next());
    }
    RawWs late(replay.port(), "stream=user&access_token=b");
    const auto late_texts = texts_of(late.drain(2));
    // The late client starts where the timeline is, not at the tape's start, and ends with it.
    REQUIRE_FALSE(late_texts.empty());
    CHECK(late_texts.size() < expected.size() - 10);
    CHECK(std::equal(late_texts.rbegin(), late_texts.rend(), expected.rbegin()));
}

TEST_CASE(
    "A client that stops reading is held back by TCP on its own cursor and never delays "
    "another") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3000;  // about 6 MB: far over the socket buffers
    so.rate = 1000;
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    const auto expected = event_bytes(tape_frames(o.tape));
    RunningReplay replay(o);
    RawWs stuck(replay.port(), "stream=user&access_token=stuck");  // reads nothing from here on
    REQUIRE(stuck.upgraded());
    {
        RawWs reader(replay.port(), "stream=user&access_token=reader");
        const auto frames = reader.drain(2);
        CHECK(texts_of(frames) == expected);
        CHECK(frames.back().opcode == 8);
    }
    CHECK(mastotape::test::eventually([&] {  // the stuck one is still playing
        return get_json(replay.port(), "/_mastotape/status").at("live_connections") == 1;
    }));
    // It gets everything once it reads again.
    CHECK(texts_of(stuck.drain(2)) == expected);
}

TEST_CASE(
    "An attempt recorded as failing without an HTTP answer fails so again: the connection "
    "is reset") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 10;
    so.rate = 1;
    so.connection_ends = {"eof"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    {
        SQLite::Database db(o.tape, SQLite::OPEN_READWRITE);
        REQUIRE(db.exec("UPDATE connections SET http_status = NULL, end_detail = 'Connection "
                        "refused' WHERE end_cause = 'handshake-failed'") == 1);
    }
    o.clock = replay::ClockMode::virtual_clock;
    RunningReplay replay(o);
    RawWs first(replay.port(), "stream=user");
    REQUIRE(first.upgraded());
    get_json(replay.port(), "/_mastotape/clock/run-to?next=gap");
    CHECK(first.wait_end());
    for (const std::string request :
         {"GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n",
          "GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n\r\n"}) {
        RawConn attempt(replay.port());
        attempt.send(request);
        CHECK(attempt.wait_end());
        CHECK(attempt.data().empty());  // no HTTP answer at all
    }
}

TEST_CASE(
    "The REST timelines apply deletes and edits, and use Mastodon's default and maximum "
    "limits") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 300;
    so.subscriptions = {{"public", ""}};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    // What the public timeline holds at the end, worked out from the tape's events in order.
    std::map<std::string, std::string, bool (*)(const std::string&, const std::string&)> items(
        [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;
        });
    int deletes = 0;
    int edits = 0;
    for (const auto& f : tape_frames(o.tape)) {
        if (f.columns.kind != FrameKind::event) {
            continue;
        }
        const auto envelope = nlohmann::json::parse(f.bytes);
        const std::string id = *f.columns.object_id;
        if (*f.columns.event == "delete") {
            deletes += static_cast<int>(items.erase(id));
        } else if (*f.columns.event == "status.update") {
            if (auto it = items.find(id); it != items.end()) {
                it->second = envelope.at("payload").get<std::string>();
                ++edits;
            }
        } else {
            items[id] = envelope.at("payload").get<std::string>();
        }
    }
    REQUIRE(deletes > 0);
    REQUIRE(edits > 0);
    REQUIRE(items.size() > 40);
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=public");  // plays the tape to its end
        ws.until_close();
    }
    const auto body_of = [&](const std::string& target) {
        const auto res = http_get(replay.port(), target);
        REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
        return res.substr(res.find("\r\n\r\n") + 4);
    };
    CHECK(nlohmann::json::parse(body_of("/api/v1/timelines/public")).size() == 20);  // default
    CHECK(nlohmann::json::parse(body_of("/api/v1/timelines/public?limit=1000")).size() ==
          40);  // at most twice the default
    // Newest first, each entity exactly as recorded, edits applied, deletes gone.
    std::string expected = "[";
    auto it = items.rbegin();
    for (int i = 0; i < 40; ++i, ++it) {
        expected += (i ? "," : "") + it->second;
    }
    CHECK(body_of("/api/v1/timelines/public?limit=40") == expected + "]");
}

TEST_CASE(
    "Each REST timeline holds its own stream's items: home, public local, tag, list, "
    "notifications, conversations") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 400;
    so.subscriptions = {
        {"user", ""}, {"public:local", ""}, {"hashtag", "rust"}, {"list", "7"}, {"direct", ""}};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    const auto frames = tape_frames(o.tape);
    // What a timeline holds at the end, worked out from the tape's events in order.
    const auto expected = [&](const std::set<std::string>& labels,
                              const std::set<std::string>& events, std::size_t limit) {
        const auto id_less = [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;
        };
        std::map<std::string, std::string, decltype(id_less)> items(id_less);
        for (const auto& f : frames) {
            if (f.columns.kind != FrameKind::event || !labels.count(*f.columns.stream) ||
                !events.count(*f.columns.event)) {
                continue;
            }
            const auto payload = nlohmann::json::parse(f.bytes).at("payload").get<std::string>();
            const std::string& id = *f.columns.object_id;
            if (*f.columns.event == "delete") {
                items.erase(id);
            } else if (*f.columns.event == "status.update") {
                if (auto it = items.find(id); it != items.end()) {
                    it->second = payload;
                }
            } else {
                items[id] = payload;
            }
        }
        std::string body = "[";
        std::size_t n = 0;
        for (auto it = items.rbegin(); it != items.rend() && n < limit; ++it, ++n) {
            body += (n ? "," : "") + it->second;
        }
        return std::make_pair(n, body + "]");
    };
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=user");  // plays the tape to its end
        ws.until_close();
    }
    const std::set<std::string> statuses{"update", "status.update", "delete"};
    const std::vector<
        std::tuple<std::string, std::set<std::string>, std::set<std::string>, std::size_t>>
        timelines = {
            {"/api/v1/timelines/home", {R"(["user"])"}, statuses, 20},
            {"/api/v1/timelines/public?local=true", {R"(["public:local"])"}, statuses, 20},
            {"/api/v1/timelines/tag/rust", {R"(["hashtag","rust"])"}, statuses, 20},
            {"/api/v1/timelines/list/7", {R"(["list","7"])"}, statuses, 20},
            {"/api/v1/notifications", {R"(["user"])"}, {"notification"}, 40},
            {"/api/v1/conversations", {R"(["direct"])"}, {"conversation"}, 20},
        };
    for (const auto& [target, labels, events, limit] : timelines) {
        INFO(target);
        const auto [count, body] = expected(labels, events, limit);
        CHECK(count > 0);
        const auto res = http_get(replay.port(), target);
        REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
        CHECK(res.substr(res.find("\r\n\r\n") + 4) == body);
    }
}
