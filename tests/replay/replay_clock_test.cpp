#include "replay/replay_clock.hpp"

#include <catch2/catch.hpp>

#include "tests/replay/fake_time.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::replay;
using namespace std::chrono_literals;
using mastotape::test::FakeTime;
using mastotape::test::kSec;

TEST_CASE("At a real-time clock a frame is due when its tape time has passed, scaled by speed") {
    FakeTime t;
    const ReplayClock clock(ClockMode::realtime, 2.0, false, 5 * kSec, t.source());
    const ConnectionClock c = clock.connection_at(5 * kSec);
    CHECK(clock.due(c, 5 * kSec).now);
    auto due = clock.due(c, 9 * kSec);  // 4 s of tape at 2x: 2 s from now
    CHECK_FALSE(due.now);
    CHECK(due.wake == t.now + 2s);
    t.now += 1999ms;
    CHECK_FALSE(clock.due(c, 9 * kSec).now);
    t.now += 1ms;
    CHECK(clock.due(c, 9 * kSec).now);
    CHECK(clock.scaled(4 * kSec) == 2s);
    CHECK(clock.scaled(-kSec) == 0s);
}

TEST_CASE("A pause stops the replay's time and a resume goes on where it stood") {
    FakeTime t;
    ReplayClock clock(ClockMode::realtime, 1.0, false, 0, t.source());
    const ConnectionClock c = clock.connection_at(0);
    t.now += 1s;
    clock.pause();
    const TimePoint at_pause = clock.now();
    t.now += 60s;  // a minute paused
    CHECK(clock.now() == at_pause);
    CHECK_FALSE(clock.due(c, 2 * kSec).now);
    CHECK(clock.due(c, 2 * kSec).wake == TimePoint::max());  // only a resume wakes it
    CHECK(clock.real(at_pause) == TimePoint::max());
    clock.resume();
    CHECK(clock.now() == at_pause);
    CHECK_FALSE(clock.due(c, 2 * kSec).now);
    CHECK(clock.due(c, 2 * kSec).wake == t.now + 1s);  // the second left, in real time
    t.now += 1s;
    CHECK(clock.due(c, 2 * kSec).now);
    clock.resume();  // resuming twice changes nothing
    CHECK(clock.now() == at_pause + 1s);
}

TEST_CASE("At --max-speed everything is due at once, and a virtual clock moves only when told") {
    FakeTime t;
    ReplayClock fast(ClockMode::max_speed, 1.0, false, 0, t.source());
    CHECK(fast.due(fast.connection_at(0), 3600 * kSec).now);
    CHECK(fast.silence_for(kSec) == 2s);  // --silence: a client without a watchdog is not held
    fast.set_max_speed_silence(90s);
    CHECK(fast.silence_for(kSec) == 90s);

    ReplayClock v(ClockMode::virtual_clock, 1.0, false, 7 * kSec, t.source());
    CHECK(v.one_timeline());
    CHECK(v.virtual_ns() == 7 * kSec);
    const ConnectionClock c = v.connection_at(7 * kSec);
    CHECK_FALSE(v.due(c, 8 * kSec).now);
    t.now += 3600s;
    CHECK_FALSE(v.due(c, 8 * kSec).now);  // real time does not move it
    v.advance(kSec);
    CHECK(v.due(c, 8 * kSec).now);
    v.move_to(2 * kSec);  // never back
    CHECK(v.virtual_ns() == 8 * kSec);
    CHECK(v.shared_tape_now() == 8 * kSec);
    CHECK(v.silence_for(30 * kSec) == 0s);
}

TEST_CASE("A client's clock gives its REST view: scaled time, never before where REST stands") {
    FakeTime t;
    const ReplayClock clock(ClockMode::realtime, 10.0, false, kSec, t.source());
    ClientClock client;
    CHECK(clock.tape_now(client) == kSec);  // not started: the tape's start
    clock.set(client, 2 * kSec);
    t.now += 1s;
    CHECK(clock.tape_now(client) == 12 * kSec);
    client.rest_at = 20 * kSec;  // where the recording's backfill had fetched
    CHECK(clock.tape_now(client) == 20 * kSec);
    t.now += 2s;
    CHECK(clock.tape_now(client) == 32 * kSec);

    const ReplayClock fast(ClockMode::max_speed, 1.0, false, 0, t.source());
    ClientClock f;
    fast.set(f, 5 * kSec);
    CHECK(fast.tape_now(f) == 5 * kSec);  // as far as the stream has gone
    f.rest_at = 3 * kSec;
    CHECK(fast.tape_now(f) == 3 * kSec);  // at --max-speed REST stands where it was put
}

TEST_CASE("On a shared clock every connection runs on one timeline from the start") {
    FakeTime t;
    const ReplayClock clock(ClockMode::realtime, 1.0, true, 3 * kSec, t.source());
    t.now += 10s;
    CHECK(clock.shared_tape_now() == 13 * kSec);
    const ConnectionClock late = clock.connection_at(13 * kSec);
    CHECK(late.base == 3 * kSec);  // anchored at the start, not at the late join
    CHECK(clock.due(late, 13 * kSec).now);
    CHECK_FALSE(clock.due(late, 14 * kSec).now);
    ClientClock anyone;
    CHECK(clock.tape_now(anyone) == 13 * kSec);
    CHECK(clock.silence_for(600 * kSec) == 120s);
    CHECK(clock.silence_for(30 * kSec) == 30s);
}

TEST_CASE("Scaled tape times saturate: no speed or offset puts a frame in the past") {
    FakeTime t;
    const std::int64_t far =
        3'000'000'000 * kSec;  // ~95 years, near the latest offset a tape holds
    SECTION("a crawling speed") {
        const ReplayClock clock(ClockMode::realtime, 1e-300, false, 0, t.source());
        const ConnectionClock c = clock.connection_at(0);
        CHECK_FALSE(clock.due(c, kSec).now);
        CHECK(clock.due(c, kSec).wake > t.now + std::chrono::hours(24 * 365 * 100));
        CHECK(clock.scaled(far) > std::chrono::hours(24 * 365 * 100));
    }
    SECTION("a racing speed") {
        ReplayClock clock(ClockMode::realtime, 1e300, false, 0, t.source());
        ClientClock cc;
        clock.set(cc, 0);
        t.now += 1s;
        CHECK(clock.tape_now(cc) > far);
        CHECK(clock.shared_tape_now() > far);
    }
}
