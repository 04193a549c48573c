#include "replay/admission.hpp"

#include <catch2/catch.hpp>

#include "tests/replay/fake_time.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::replay;
using namespace std::chrono_literals;
using mastotape::test::FakeTime;
using mastotape::test::kSec;

namespace {

// Three recorded connections: 1-10 s, 15-20 s (after two failed attempts: a 502 at 11 s and a
// reset at 13 s), 30-40 s.
TapePlan three_connections() {
    TapePlan plan;
    const std::int64_t spans[3][2] = {{1, 10}, {15, 20}, {30, 40}};
    for (int k = 0; k < 3; ++k) {
        PlannedConnection p;
        p.recorded.idx = k;
        p.up_offset_ns = spans[k][0] * kSec;
        p.end_offset_ns = spans[k][1] * kSec;
        p.rest_at_ns = p.up_offset_ns;
        plan.connections.push_back(p);
    }
    schema::Connection refused;
    refused.http_status = 502;
    refused.error_message = "Bad Gateway";
    refused.started_offset_ns = 11 * kSec;
    refused.ended_offset_ns = 11 * kSec + 20'000'000;
    schema::Connection reset;  // no HTTP answer at all
    reset.started_offset_ns = 13 * kSec;
    reset.ended_offset_ns = 13 * kSec + 500'000'000;
    plan.connections[1].failed_before = {refused, reset};
    plan.end_offset_ns = 41 * kSec;
    return plan;
}

}  // namespace

TEST_CASE("A client's attempts follow the recorded connections and fail as the gap's did") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::realtime, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("token-a");
    CHECK(c.name == "client 1");
    CHECK(&admission.client("token-a") == &c);  // known by its token
    CHECK(admission.client("token-b").name == "client 2");

    Admitted a = admission.admit(c);
    REQUIRE(a.ok);
    CHECK(a.connection == 0);
    CHECK(a.start == kSec);
    admission.started(c, 0, a.start);
    admission.played(c, 0);  // ended as recorded at 10 s: a 5 s gap follows

    a = admission.admit(c);
    CHECK_FALSE(a.ok);
    CHECK(a.status == 502);
    CHECK(a.error_message == "Bad Gateway");
    a = admission.admit(c);
    CHECK_FALSE(a.ok);
    CHECK(a.status == 0);  // reset, as recorded
    a = admission.admit(c);
    CHECK(a.status == 0);  // past the recorded attempts, the last one again
    t.now += 5s;
    a = admission.admit(c);
    REQUIRE(a.ok);
    CHECK(a.connection == 1);
    admission.played(c, 1);
    t.now += 10s;
    admission.played(c, 2);
    CHECK(c.finished);
    a = admission.admit(c);
    CHECK_FALSE(a.ok);
    CHECK(a.error_message == "the tape has ended");
    CHECK_FALSE(admission.client("token-b").finished);  // client 2 has not played
}

TEST_CASE("At a real-time clock the tape's schedule rules: a client back late joins late") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::realtime, 2.0, false, kSec, t.source());  // --speed 2
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    const Admitted first = admission.admit(c);
    REQUIRE(first.ok);
    admission.started(c, 0, first.start);
    admission.played(c, 0);  // at 10 s on the tape
    SECTION("back before the last recorded failure: refused as it was") {
        t.now += 1500ms;  // 13 s on the tape
        CHECK(admission.admit(c).status == 502);
    }
    SECTION("back after the last recorded failure, before the handshake: from the handshake") {
        t.now += 1750ms;  // 13.5 s on the tape
        const Admitted a = admission.admit(c);
        REQUIRE(a.ok);
        CHECK(a.connection == 1);
        CHECK(a.start == 15 * kSec);
    }
    SECTION("back 2 s (tape time) after the recording was: those 2 s are lost from the stream") {
        t.now += 3500ms;  // 17 s on the tape
        const Admitted a = admission.admit(c);
        REQUIRE(a.ok);
        CHECK(a.connection == 1);
        CHECK(a.start == 17 * kSec);
    }
    SECTION("back after the next connection ended too: the gap after it, then the one after") {
        t.now += 5500ms;  // 21 s on the tape, in the gap after connection 1 (no failures there)
        const Admitted a = admission.admit(c);
        REQUIRE(a.ok);
        CHECK(a.connection == 2);
        CHECK(a.start == 30 * kSec);
    }
}

TEST_CASE("With --loop a finished client starts the tape over") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::max_speed, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, true);
    ClientState& c = admission.client("");
    for (std::size_t k = 0; k < 3; ++k) {
        const Admitted a = admission.admit(c);  // no gaps at --max-speed
        REQUIRE(a.ok);
        CHECK(a.connection == k);
        admission.played(c, k);
    }
    CHECK(c.finished);
    const Admitted again = admission.admit(c);
    REQUIRE(again.ok);
    CHECK(again.connection == 0);
}

TEST_CASE("A connection a fault cut short is resumed by the next attempt, not played") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::max_speed, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    const Admitted first = admission.admit(c);
    REQUIRE(first.ok);
    admission.started(c, 0, first.start);
    admission.cut_short(c, 4 * kSec);
    const Admitted a = admission.admit(c);
    REQUIRE(a.ok);
    CHECK(a.connection == 0);  // the same recorded connection
    CHECK(a.start == 4 * kSec + 1);
    CHECK(admission.admit(c).start == kSec);  // once
}

TEST_CASE("refuse=K refuses the next K attempts of anybody, then admits again") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::realtime, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    admission.refuse_next(2);
    CHECK(admission.refusing() == 2);
    for (const char* token : {"a", "b"}) {
        const Admitted a = admission.admit(admission.client(token));
        CHECK_FALSE(a.ok);
        CHECK(a.status == 503);
        CHECK(a.error_message == "refused by a fault overlay");
    }
    CHECK(admission.admit(admission.client("a")).ok);
}

TEST_CASE("On a virtual clock an attempt plays the connection live at the clock's time") {
    FakeTime t;
    const TapePlan plan = three_connections();
    ReplayClock clock(ClockMode::virtual_clock, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    CHECK(admission.admit(c).connection == 0);
    clock.move_to(12 * kSec);  // in the gap before connection 1
    const Admitted refused = admission.admit(c);
    CHECK_FALSE(refused.ok);
    CHECK(refused.status == 502);
    clock.move_to(16 * kSec);
    const Admitted a = admission.admit(c);
    REQUIRE(a.ok);
    CHECK(a.connection == 1);
    CHECK(a.start == 16 * kSec);  // from the clock's now
    clock.move_to(45 * kSec);
    CHECK(admission.admit(c).error_message == "the tape has ended");
}

TEST_CASE("A reset starts a client over, and a live connection goes on without moving it") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::max_speed, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    REQUIRE(admission.admit(c).ok);
    admission.played(c, 0);
    c.live = 1;
    CHECK(admission.reset("client 9") == 0);
    CHECK(admission.reset("client 1") == 1);
    CHECK(c.next == 0);
    CHECK(c.live == 1);
    CHECK(c.generation == 1);
    CHECK(admission.admit(c).connection == 0);
}

TEST_CASE("A connection the client ended resumes where its clock stands, not at the next one") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::realtime, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    const Admitted first = admission.admit(c);
    REQUIRE(first.ok);
    admission.started(c, 0, first.start);
    t.now += 3s;
    admission.left(c, 0, 2 * kSec);  // its last frame was at 2 s; it left at 4 s
    Admitted a = admission.admit(c);
    REQUIRE(a.ok);
    CHECK(a.connection == 0);    // before, the gap's 502: the connection counted as played
    CHECK(a.start == 4 * kSec);  // what came while it was away is lost
    admission.started(c, 0, a.start);

    SECTION("the recorded end passes while it is away: the gap, then the next connection") {
        t.now += 1s;
        admission.left(c, 0, 4 * kSec);
        t.now += 8s;  // 13 s: in the recorded gap (10-15 s), before its last failed attempt
        a = admission.admit(c);
        CHECK_FALSE(a.ok);
        CHECK(a.status == 502);
        t.now += 1s;  // 14 s: let in, to be given the connection from its handshake (15 s)
        a = admission.admit(c);
        REQUIRE(a.ok);
        CHECK(a.connection == 1);
        CHECK(a.start == 15 * kSec);
    }
    SECTION("away past a whole gap: it joins the next connection where the clock stands") {
        admission.left(c, 0, 4 * kSec);
        t.now += 13s;  // 17 s: connection 1 (15-20 s) is under way
        a = admission.admit(c);
        REQUIRE(a.ok);
        CHECK(a.connection == 1);
        CHECK(a.start == 17 * kSec);
    }
    SECTION("away past the tape's end: the tape has ended") {
        admission.left(c, 0, 4 * kSec);
        t.now += 40s;
        a = admission.admit(c);
        CHECK_FALSE(a.ok);
        CHECK(a.error_message == "the tape has ended");
    }
}

TEST_CASE("At --max-speed a connection the client ended resumes after its last frame") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::max_speed, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    const Admitted first = admission.admit(c);
    REQUIRE(first.ok);
    admission.started(c, 0, first.start);
    admission.left(c, 0, 4 * kSec);
    t.now += 60s;  // no time passes on the tape meanwhile
    const Admitted a = admission.admit(c);
    REQUIRE(a.ok);
    CHECK(a.connection == 0);
    CHECK(a.start == 4 * kSec + 1);
}

TEST_CASE("A connection that a newer attempt counted as played moves nothing when it goes") {
    FakeTime t;
    const TapePlan plan = three_connections();
    const ReplayClock clock(ClockMode::max_speed, 1.0, false, kSec, t.source());
    Admission admission(plan, clock, false);
    ClientState& c = admission.client("t");
    const Admitted first = admission.admit(c);
    REQUIRE(first.ok);
    admission.started(c, 0, first.start);
    c.ending = 0;  // connection 0 has sent everything and waits for its recorded end
    const Admitted a = admission.admit(c);  // the client came back before it saw 0 go
    REQUIRE(a.ok);
    CHECK(a.connection == 1);
    admission.started(c, 1, a.start);
    admission.left(c, 0, 9 * kSec);  // now the old connection goes
    CHECK(c.next == 1);
    CHECK_FALSE(c.resume_at);  // before: the next attempt would resume at 9 s
    CHECK(admission.admit(c).start == 15 * kSec);
}
