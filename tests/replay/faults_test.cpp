// Fault overlays: parsing, what a client (the recorder) meets on the wire, the bytes a stall or
// a slow link leaves, refusals in turn, and faults changed at run time through the control API.

#include "replay/faults.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "record/recorder.hpp"
#include "replay/replay_server.hpp"
#include "schema/ops/synth.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

replay::Fault fault(const std::string& spec) {
    std::string error;
    auto f = replay::parse_fault(spec, error);
    INFO(error);
    REQUIRE(f.has_value());
    return *f;
}

// Replays a 20-event tape with `spec` and records it; returns the recording's store path.
std::string record_with_fault(const TempDir& dir, const std::string& spec,
                              replay::ClockMode clock) {
    const auto source = dir.file("source.db");
    {
        schema::TapeStore store(source, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 20;
        so.rate = 20;
        schema::synthesize(store, so);
    }
    replay::ReplayOptions ro;
    ro.tape = source;
    ro.clock = clock;
    ro.speed = 10;
    ro.faults.push_back(fault(spec));
    replay::ReplayServer server(ro);
    std::thread t([&] { server.run(); });
    auto r = test::loopback_recorder(server.base_url(), dir.file("recorded.db"));
    r.max_events = 20;
    r.backoff_cap_s = 0.1;
    r.max_reconnects = 20;
    r.duration_s = 30;
    r.backfill = false;
    record::Recorder recorder(r);
    recorder.run();
    server.stop();
    t.join();
    return r.db;
}

std::vector<schema::Connection> established(schema::TapeStore& store) {
    std::vector<schema::Connection> out;
    for (const auto& c : store.connections(1)) {
        if (c.handshake_offset_ns) {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("Fault specs parse, and bad ones say what is wrong") {
    CHECK(fault("drop-after=12").n == 12);
    CHECK(fault("close-at=2.5:4001").at_ns == 2'500'000'000);
    CHECK(fault("close-at=2.5:4001").code == 4001);
    CHECK(fault("stall=1:3").duration_ns == 3'000'000'000);
    CHECK(fault("refuse=2").kind == replay::FaultKind::refuse);
    CHECK(fault("refuse=2").code == 503);
    CHECK(fault("refuse=3:429").code == 429);
    CHECK(fault("rest-error=1:502").kind == replay::FaultKind::rest_error);
    CHECK(fault("rest-error=4").n == 4);
    CHECK(fault("rest-error=4").describe() == "rest-error=4:503");
    CHECK(fault("slow=1000").bytes_per_s == 1000);
    // Numbers too big to mean anything (stall=1e300:1 was accepted, and did nothing).
    for (const char* bad :
         {"drop-after", "drop-after=0", "close-at=1", "close-at=1:1006", "stall=x:1", "meteor=1",
          "slow=0", "stall=1e300:1", "stall=1:1e300", "close-at=1e20:4000", "drop-after=1e30",
          "slow=1e300", "refuse=1:200", "refuse=1:x", "rest-error=0", "rest-error=1:600"}) {
        std::string error;
        CHECK_FALSE(replay::parse_fault(bad, error).has_value());
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("drop-after cuts the connection without a close frame and the client resumes the tape") {
    TempDir dir;
    const auto db = record_with_fault(dir, "drop-after=5", replay::ClockMode::realtime);
    schema::TapeStore store(db, schema::OpenMode::read);
    const auto conns = established(store);
    REQUIRE(conns.size() >= 2);
    CHECK(conns[0].end_cause == schema::EndCause::eof);
    CHECK(store.gaps(1).at(0).last_seq_before == 5);
    // The replay clock runs on while the client reconnects, so the events of that moment are
    // missed, as after a real disconnect (REST backfill recovers them); the rest follows.
    const auto events = store.counts(1).events;
    CHECK(events > 5);
    CHECK(events <= 20);
}

TEST_CASE("close-at closes with the given code at the given tape time") {
    TempDir dir;
    const auto db = record_with_fault(dir, "close-at=0.3:4001", replay::ClockMode::realtime);
    schema::TapeStore store(db, schema::OpenMode::read);
    const auto conns = established(store);
    REQUIRE(conns.size() >= 2);
    CHECK(conns[0].end_cause == schema::EndCause::close);
    CHECK(conns[0].close_code == 4001);
}

TEST_CASE("malformed-at sends half an event, which the client stores as unparsed text") {
    TempDir dir;
    const auto db = record_with_fault(dir, "malformed-at=3", replay::ClockMode::realtime);
    schema::TapeStore store(db, schema::OpenMode::read);
    auto cursor = store.frames_from_seq(1, 1);
    schema::Frame f;
    std::vector<schema::Frame> texts;
    while (cursor.next(f)) {
        if (f.columns.kind == schema::FrameKind::text) {
            texts.push_back(f);
        }
    }
    REQUIRE(texts.size() == 1);
    CHECK_FALSE(texts[0].columns.parse_ok);
    CHECK_THAT(texts[0].bytes, Catch::StartsWith("{\"stream\":[\"user\"]"));
}

TEST_CASE("oversize-at sends a frame over --max-frame: the client ends it as 1009 and goes on") {
    TempDir dir;
    const auto db = record_with_fault(dir, "oversize-at=4", replay::ClockMode::realtime);
    schema::TapeStore store(db, schema::OpenMode::read);
    const auto conns = established(store);
    REQUIRE_FALSE(conns.empty());
    for (const auto& c : store.connections(1)) {
        UNSCOPED_INFO(c.idx << ": " << c.end_cause << " " << c.http_status.value_or(0) << " "
                            << c.end_detail);
    }
    REQUIRE(conns.size() >= 2);
    CHECK(conns[0].end_cause == schema::EndCause::frame_too_large);
    CHECK(conns[0].close_code == 1009);
    CHECK(store.gaps(1).at(0).cause == schema::EndCause::frame_too_large);
    CHECK(store.gaps(1).at(0).last_seq_before == 3);  // the 17 MiB frame is not stored
}

TEST_CASE("refuse makes the next attempts fail with 503 before the tape plays") {
    TempDir dir;
    const auto db = record_with_fault(dir, "refuse=2", replay::ClockMode::realtime);
    schema::TapeStore store(db, schema::OpenMode::read);
    const auto conns = store.connections(1);
    REQUIRE(conns.size() >= 3);
    CHECK(conns[0].http_status == 503);
    CHECK(conns[1].http_status == 503);
    CHECK(conns[2].http_status == 101);
    CHECK(store.counts(1).events == 20);
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
        if (f.columns.kind == schema::FrameKind::event) {
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

TEST_CASE("refuse=K:STATUS refuses upgrades, rest-error=K:STATUS REST requests, in turn") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    RunningReplay replay(o);
    const auto port = replay.port();
    post_json(port, "/_mastotape/faults?add=refuse=1:429");
    auto j = post_json(port, "/_mastotape/faults?add=rest-error=2:503");
    CHECK(j.at("rest_errors_remaining") == 2);
    post_json(port, "/_mastotape/faults?add=rest-error=1:429");
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

TEST_CASE("Faults can be added and cleared at run time through the control API") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::max_speed;
    const auto expected = event_bytes(tape_frames(o.tape));
    RunningReplay replay(o);
    const auto port = replay.port();
    auto j = post_json(port, "/_mastotape/faults?add=drop-after=2");
    CHECK(j.at("faults") == nlohmann::json::array({"drop-after=2"}));
    j = post_json(port, "/_mastotape/faults?add=refuse=1");
    CHECK(j.at("refuse_remaining") == 1);
    int code = 0;
    j = post_json(port, "/_mastotape/faults?add=explode=1", &code);
    CHECK(code == 400);
    CHECK_THAT(j.at("error").get<std::string>(), Catch::Contains("explode"));
    // A spec that is not UTF-8 is echoed as valid JSON (found by fuzz_http_requests: the answer
    // was not JSON).
    j = post_json(port, "/_mastotape/faults?add=refuse%3D2%B3", &code);
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
    j = post_json(port, "/_mastotape/faults?clear=1");
    CHECK(j.at("faults").empty());
    RawWs rest(port, "stream=user");
    CHECK(texts_of(rest.drain()) == std::vector<std::string>(expected.begin() + 2, expected.end()));
}
