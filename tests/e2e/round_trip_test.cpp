// The round trip: replay a tape, record the replay, and the recording must `diff` equal to the
// original: every frame's bytes and kind in order, heartbeats, how each connection ended, gaps
// and their causes, the backfilled items, and (at a scaled speed) every frame's time.
// tests/e2e/round_trips.sh runs them in two halves side by side: [first-half] and the rest (a
// new round trip goes where it balances the two, about 50 s each).

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "record/recorder.hpp"
#include "replay/replay_server.hpp"
#include "schema/formats/jsonl_tape.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/ops/synth.hpp"
#include "schema/ops/tape_cut.hpp"
#include "schema/ops/tape_diff.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::TempDir;

namespace {

// Replays session `id` of `tape` (speed 0: --max-speed) with the last connection held open,
// records it with the session's own streams, transport and (scaled) heartbeat timeout, stops once
// the recording holds every frame the replayer sent and the replayer has played the last one (so
// a frame too many would show), and diffs the recording against the original.
schema::DiffResult round_trip(const std::string& tape, std::int64_t id, double speed, TempDir& dir,
                              schema::DiffOptions& diff, bool tls = false) {
    schema::Session s;
    std::int64_t want_frames = 0;
    std::int64_t last_frame_ns = 0;
    {
        schema::TapeStore original(tape, schema::OpenMode::read);
        s = original.session(id);
        const auto counts = original.counts(id);
        want_frames = counts.frames;
        last_frame_ns = counts.last_offset_ns;
        // What the original client subscribed to, unknown streams included (their errors are
        // frames of the tape).
        for (const auto& m : original.client_messages(id)) {
            const auto parsed = schema::parse_client_message(m.bytes);
            if (m.kind == schema::MessageKind::text && parsed.type == "subscribe" &&
                std::find(s.subscriptions.begin(), s.subscriptions.end(), parsed.subscription) ==
                    s.subscriptions.end()) {
                s.subscriptions.push_back(parsed.subscription);
            }
        }
    }
    replay::ReplayOptions ro;
    ro.tape = tape;
    ro.session_id = id;
    ro.hold = true;
    const auto settings = nlohmann::json::parse(s.settings_json);
    const double timeout_s = settings.value("heartbeat_timeout_ms", 75000.0) / 1000.0;
    const auto db = dir.file("recorded-" + std::to_string(id) + ".db");
    auto r = test::loopback_recorder("", db);
    if (speed > 0) {
        ro.speed = speed;
        diff.time_scale = speed;
        r.heartbeat_timeout_s = timeout_s / speed;
    } else {
        ro.clock = replay::ClockMode::max_speed;
        // The tape outruns the client, but REST stands where the recording's backfill fetched:
        // the backfill must come out the same.
        diff.ignore.insert("timing");
        r.heartbeat_timeout_s = 1;
    }
    if (tls) {
        // Over wss:// (and https:// for backfill), the replayer's certificate trusted by its CA.
        REQUIRE(test::make_test_certificates(dir, "DNS:localhost,IP:127.0.0.1"));
        ro.tls_cert = dir.file("server.pem");
        ro.tls_key = dir.file("server.key");
        r.cacert = dir.file("ca.pem");
    }
    test::RunningReplay replay(ro);
    r.target = replay.url();
    r.transport = s.transport;
    r.subscriptions = s.subscriptions;
    r.token = "tok";
    r.quiet = std::getenv("ROUND_TRIP_LOG") == nullptr;
    r.duration_s = 120;  // a bound, should the test go wrong
    record::Recorder recorder(r);
    std::optional<record::RecordResult> result;
    std::thread running([&] { result = recorder.run(); });
    {
        schema::TapeStore live(db, schema::OpenMode::read);
        const auto recorded = [&] { return live.counts(recorder.session_id()).frames; };
        test::eventually([&] { return recorded() >= want_frames; }, 100);
        // Then until the replayer has played the tape's last frame and the tape holds every frame
        // it sent, so that a frame too many would show. (A frame lost on the way keeps the counts
        // apart: the wait runs out and the diff names the frame.)
        test::eventually(
            [&] {
                const auto client = nlohmann::json::parse(replay.status()).at("clients").at(0);
                return client.at("position_ns") == last_frame_ns &&
                       client.at("frames_sent").get<std::int64_t>() == recorded();
            },
            30);
    }
    const auto stopped_at = std::chrono::steady_clock::now();
    recorder.stop();
    running.join();
    REQUIRE(result);
    REQUIRE(result->outcome == record::RecordOutcome::finished);
    // The server answers the close at once: the recorder's 6 s fallback for a server that never
    // does must not hold the recording (it once did).
    CHECK(std::chrono::steady_clock::now() - stopped_at < std::chrono::seconds(5));
    schema::TapeStore original(tape, schema::OpenMode::read);
    schema::TapeStore recorded(db, schema::OpenMode::read);
    return schema::diff_sessions(original, id, recorded, recorder.session_id(), diff);
}

void check_equal(const schema::DiffResult& result, const schema::DiffOptions& o) {
    INFO(result.summary(o));
    std::string first;
    for (const auto& line : result.reported) {
        first += line + "\n";
    }
    INFO(first);
    CHECK(result.equal());
    CHECK(result.frames > 0);
}

// A frame's time depends on two threads each getting a core when it is due. On this project's
// two shared cores (a VM) a stall of tens of milliseconds now and then hits a frame whatever the
// replayer and the recorder do (one suite run saw 59 ms on one frame of a tape with no
// reconnect and no backfill, the next run 1.4 ms). A round trip that differs in frame timing
// only is therefore made once more, and that one must be equal: a real timing fault shows
// twice, a stall does not. Any other difference fails at once.
void check_round_trip(const std::function<schema::DiffResult()>& run,
                      const schema::DiffOptions& o) {
    auto result = run();
    if (!result.equal() && result.by_aspect.size() == 1 && result.by_aspect.count("timing") > 0) {
        WARN("differs in timing only; made once more: " << result.summary(o));
        result = run();
    }
    check_equal(result, o);
}

// Frame times within 10 ms (diff's default is 5): on this project's two shared cores a bare
// Asio timer alone is up to 4 ms late (tests/bench/RESULTS.md, "raw: Asio timer lateness ... max"),
// and the replayer's send and the recorder's stamp each take that chance, so one frame in a
// suite run came 6.8 ms late. An unoptimized ASan+UBSan build is slower still: 25 ms there.
// Everything else is compared exactly.
schema::DiffOptions round_trip_options() {
    schema::DiffOptions o;
    o.tolerance_ns = MASTOTAPE_SANITIZED ? 25'000'000 : 10'000'000;
    return o;
}

// Over TLS, each reconnect's and each backfill request's TLS handshake runs on the one thread
// that also sends (replayer) or stamps (recorder) the frames; on two shared cores that delayed
// one frame by 6.7 ms in CI. Frame times are held to 25 ms there, as in the sanitized build.
void allow_tls_handshakes(schema::DiffOptions& o) {
    o.tolerance_ns = std::max<std::int64_t>(o.tolerance_ns, 25'000'000);
}

void fixture_round_trip(const std::string& name) {
    TempDir dir;
    const auto tape = test::import_fixture(dir, name);
    auto o = round_trip_options();
    SECTION("at ten times the recorded speed, timing included") {
        check_round_trip([&] { return round_trip(tape, 1, 10, dir, o); }, o);
    }
    SECTION("at --max-speed, timing ignored") {
        check_round_trip([&] { return round_trip(tape, 1, 0, dir, o); }, o);
    }
}

}  // namespace

TEST_CASE("Round trip: fixture user-gaps (reconnects, heartbeat timeout, backfill)",
          "[round-trip][first-half]") {
    fixture_round_trip("user-gaps");
}
TEST_CASE("Round trip: fixture hashtag-sse (SSE comments and events)", "[round-trip]") {
    fixture_round_trip("hashtag-sse");
}
TEST_CASE("Round trip: fixture multiplexed (subscribe messages, several streams)", "[round-trip]") {
    fixture_round_trip("multiplexed");
}
TEST_CASE("Round trip: fixture public-deletes-edits", "[round-trip]") {
    fixture_round_trip("public-deletes-edits");
}
TEST_CASE("Round trip: fixture direct", "[round-trip]") { fixture_round_trip("direct"); }

TEST_CASE("Round trip: synthesized tapes with every connection-end cause",
          "[round-trip][first-half]") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 40;
    so.rate = 20;
    so.missed_per_gap = 4;
    so.heartbeat_timeout_ns = 3'000'000'000;  // keeps the silent stretch short
    auto o = round_trip_options();
    bool tls = false;
    std::vector<std::string> recorded_ends;  // checked when `ends` is ignored
    SECTION("WebSocket") {
        so.connection_ends = {"eof", "reset", "close", "close-no-code", "heartbeat-timeout"};
    }
    SECTION("SSE") {
        so.transport = schema::Transport::sse;
        so.subscriptions = {{"hashtag", "rust"}};
        so.connection_ends = {"eof", "reset", "heartbeat-timeout"};
    }
    SECTION("WebSocket over TLS, a TLS error among the ends") {
        so.connection_ends = {"tls-error", "eof", "reset", "close"};
        tls = true;
    }
    SECTION("SSE over TLS, a TLS error among the ends") {
        so.transport = schema::Transport::sse;
        so.subscriptions = {{"hashtag", "rust"}};
        so.connection_ends = {"tls-error", "eof", "reset"};
        tls = true;
    }
    SECTION("a network error, which a loopback replay ends as a plain TCP end") {
        // A route that fails (a timeout, an unreachable host) cannot be made on loopback without
        // privileges, so the recording sees `eof` where the original saw `network-error` (the
        // recorder's naming of a real one: tests/record/connection_end_test.cpp); the causes are
        // left out and checked below, everything else (the gaps, their backfill) must match.
        so.connection_ends = {"network-error", "close"};
        o.ignore = {"ends"};
        recorded_ends = {"eof", "close", "local-stop"};
    }
    const auto tape = dir.file("synth.db");
    std::int64_t id = 0;
    {
        schema::TapeStore store(tape, schema::OpenMode::create);
        id = schema::synthesize(store, so);
    }
    if (tls) {
        allow_tls_handshakes(o);
    }
    check_round_trip([&] { return round_trip(tape, id, 5, dir, o, tls); }, o);
    if (!recorded_ends.empty()) {
        schema::TapeStore recorded(dir.file("recorded-" + std::to_string(id) + ".db"),
                                   schema::OpenMode::read);
        const auto sessions = recorded.sessions();  // two when the round trip was made again
        REQUIRE(!sessions.empty());
        const auto last = sessions.back().id;
        std::vector<std::string> ends;
        for (const auto& c : recorded.connections(last)) {
            if (c.handshake_offset_ns) {
                ends.emplace_back(schema::to_string(c.end_cause));
            }
        }
        CHECK(ends == recorded_ends);
        std::vector<std::string> gap_causes;
        for (const auto& g : recorded.gaps(last)) {
            gap_causes.emplace_back(schema::to_string(g.cause));
        }
        CHECK(gap_causes == std::vector<std::string>(ends.begin(), ends.end() - 1));
    }
}

TEST_CASE("Round trip: fixture user-gaps over TLS (wss:// and https:// backfill)", "[round-trip]") {
    TempDir dir;
    const auto tape = test::import_fixture(dir, "user-gaps");
    auto o = round_trip_options();
    allow_tls_handshakes(o);
    check_round_trip([&] { return round_trip(tape, 1, 10, dir, o, true); }, o);
}

TEST_CASE("Round trip: cuts, around a gap and in the middle of a connection",
          "[round-trip][first-half]") {
    TempDir dir;
    const auto cut_into = [&](const std::string& fixture, const schema::CutSpec& spec) {
        const auto tape = test::import_fixture(dir, fixture);
        std::stringstream slice;
        schema::TapeStore store(tape, schema::OpenMode::create);
        schema::cut_session(store, 1, spec, slice);
        REQUIRE(schema::import_jsonl(store, slice, "slice") == 2);
        return tape;
    };
    auto o = round_trip_options();
    SECTION("user-gaps around its heartbeat timeout, at ten times the recorded speed") {
        schema::CutSpec spec;
        spec.around_gap = 1;
        spec.before_ns = 5'000'000'000;
        const auto tape = cut_into("user-gaps", spec);
        check_round_trip([&] { return round_trip(tape, 2, 10, dir, o); }, o);
    }
    SECTION("multiplexed from 20 s to 50 s (its subscribes sent before the cut), at --max-speed") {
        schema::CutSpec spec;
        spec.from_ns = 20'000'000'000;
        spec.to_ns = 50'000'000'000;
        const auto tape = cut_into("multiplexed", spec);
        check_round_trip([&] { return round_trip(tape, 2, 0, dir, o); }, o);
    }
}
