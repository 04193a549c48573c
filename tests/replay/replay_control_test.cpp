// The control API and the replayer's clocks: a virtual clock moved frame by frame, pause and
// resume, each client on its own cursor (reset, --loop, --shared-clock, a client that stops
// reading), and how the replayer ends (--exit-when-done, --hold).

#include "replay/replay_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <thread>

#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

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

    auto j = post_json(port, "/_mastotape/clock/run-to?next=frame");
    CHECK(offset_of(j) == frames[0].offset_ns);
    expect_frame(ws, frames[0]);
    CHECK_FALSE(ws.next(0.3));

    j = post_json(port, "/_mastotape/clock/run-to?seq=" + std::to_string(frames[3].seq));
    CHECK(offset_of(j) == frames[3].offset_ns);
    for (std::size_t i = 1; i <= 3; ++i) {
        expect_frame(ws, frames[i]);
    }
    CHECK_FALSE(ws.next(0.3));

    const auto ping = std::find_if(frames.begin() + 4, frames.end(), [](const auto& f) {
        return f.columns.kind == schema::FrameKind::ping;
    });
    REQUIRE(ping != frames.end());
    j = post_json(port, "/_mastotape/clock/run-to?next=heartbeat");
    CHECK(offset_of(j) == ping->offset_ns);
    for (auto it = frames.begin() + 4; it <= ping; ++it) {
        expect_frame(ws, *it);
    }
    CHECK_FALSE(ws.next(0.3));

    j = post_json(port, "/_mastotape/clock/advance?ms=1500");
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
        const auto body = post_json(port, bad, &code);
        INFO(bad);
        CHECK(code == 400);
        CHECK(body.contains("error"));
    }
    // A value that is there but wrong is not reported as missing.
    CHECK(post_json(port, "/_mastotape/clock/advance?ms=-1").at("error") ==
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
    const auto body = post_json(replay.port(), "/_mastotape/clock/advance?ms=10", &code);
    CHECK(code == 409);
    CHECK_THAT(body.at("error").get<std::string>(), Catch::Contains("--virtual-clock"));
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
    CHECK(post_json(replay.port(), "/_mastotape/pause").at("paused") == true);
    CHECK(get_json(replay.port(), "/_mastotape/status").at("paused") == true);
    for (auto& f : ws.drain(0.2)) {  // what was on its way
        got.push_back(std::move(f));
    }
    const auto frozen = offset_of(get_json(replay.port(), "/_mastotape/status"));
    CHECK_FALSE(ws.next(0.7));  // at 20 events a second, 14 would have come
    CHECK(offset_of(get_json(replay.port(), "/_mastotape/status")) == frozen);
    CHECK(post_json(replay.port(), "/_mastotape/resume").at("paused") == false);
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
        CHECK(post_json(port, "/_mastotape/reset?client=client%201").at("reset") == 1);
        CHECK(play("stream=user&access_token=a") == "played");
        CHECK(play("stream=user&access_token=b") == "HTTP/1.1 503");
        int code = 0;
        post_json(port, "/_mastotape/reset?client=nobody", &code);
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

TEST_CASE("With --exit-when-done, a client that stopped trying before the tape's end gave up") {
    // Before: "2 attempts refused after its last connection", never that it gave up.
    TempDir dir;
    schema::SynthOptions so;
    so.events = 40;
    so.rate = 20;
    so.connection_ends = {"eof"};
    so.failed_attempts = 2;  // the recorded gap refuses for 1.5 to 3 s of tape
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.speed = 4;
    o.exit_when_done = true;
    o.exit_grace_s = 0.5;
    o.client_report = true;
    replay::ReplayServer server(o);
    auto run = std::async(std::launch::async, [&] { return server.run(); });
    {
        RawWs ws(server.port(), "stream=user");
        ws.drain(10);
        REQUIRE(ws.ended());
    }
    for (int i = 0; i < 2; ++i) {  // at once, in the gap: refused, then no more
        RawWs again(server.port(), "stream=user");
        CHECK_FALSE(again.upgraded());
    }
    REQUIRE(run.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    run.get();
    const auto r = server.report();
    REQUIRE(r.verdicts.size() == 1);
    CHECK_THAT(r.verdicts[0],
               Catch::Contains("; gave up after 2 attempts refused after its last connection"));
    const auto j = nlohmann::json::parse(r.json);
    CHECK(j["clients"][0]["gave_up"] == true);
}
