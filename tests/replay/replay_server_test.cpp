// The replayer on the wire as Mastodon is: its answers to plain requests and bad tokens, one
// frame a message, pings and bad subscriptions, recorded closes, gaps and failed attempts played
// as recorded, and the lateness it reports.

#include "replay/replay_server.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

TEST_CASE("The replayer answers health, instance and unknown-channel requests as Mastodon does") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    RunningReplay replay(o);
    const std::string base = "127.0.0.1:" + std::to_string(replay.port());

    const auto health = http_get(replay.port(), "/api/v1/streaming/health");
    CHECK_THAT(health, Catch::StartsWith("HTTP/1.1 200 OK"));
    CHECK_THAT(health, Catch::Contains("Cache-Control: private, no-store"));
    CHECK(health.substr(health.size() - 14) == "\r\n2\r\nOK\r\n0\r\n\r\n");  // chunked

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
    post_json(port, "/_mastotape/clock/run-to?next=gap");
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
    post_json(port, "/_mastotape/clock/run-to?seq=" + std::to_string(first_of_second->seq));
    RawWs next(port, "stream=user");
    REQUIRE(next.upgraded());
    expect_frame(next, *first_of_second);
    post_json(port, "/_mastotape/clock/run-to?next=gap");
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
        post_json(replay.port(), "/_mastotape/clock/run-to?next=heartbeat");
        CHECK(pings_until_quiet(answers, true) == 1);
        CHECK(pings_until_quiet(silent, false) == 1);
        post_json(replay.port(), "/_mastotape/clock/run-to?next=heartbeat");
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
    post_json(replay.port(), "/_mastotape/clock/run-to?next=gap");
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
