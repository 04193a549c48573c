// Fault overlays: parsing, and what a client (the recorder) meets on the wire.

#include "replay/faults.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "record/recorder.hpp"
#include "replay/replay_server.hpp"
#include "schema/synth.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::TempDir;

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
