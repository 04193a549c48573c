// The verdict on the client under test (`replay --report`, issue 18): the exact items a client
// missed, and none for a client that backfills as it should (mastotape record itself).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <thread>

#include "record/recorder.hpp"
#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/synth.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

using Items = std::set<std::pair<std::string, std::string>>;

// A tape with one gap (an abrupt end), whose 3 items published meanwhile only the recording's
// backfill has.
schema::SynthOptions one_gap() {
    schema::SynthOptions so;
    so.events = 30;
    so.rate = 20;
    so.connection_ends = {"eof"};
    so.missed_per_gap = 3;
    so.event_mix = {"update", "notification"};
    return so;
}

// The items of the gap: backfilled, never streamed.
Items gap_items(const std::string& tape) {
    schema::TapeStore store(tape, schema::OpenMode::read);
    Items out;
    for (const auto& b : store.backfill(1)) {
        if (!b.already_streamed) {
            out.insert(
                {b.endpoint == "/api/v1/notifications" ? "notification" : "update", b.object_id});
        }
    }
    return out;
}

Items missed_of(const nlohmann::json& client) {
    Items out;
    for (const auto& m : client["missed"]) {
        out.insert({m["event"].get<std::string>(), m["id"].get<std::string>()});
    }
    return out;
}

// A client that streams both recorded connections and never asks REST for anything.
void stream_without_backfill(std::uint16_t port, const std::string& token) {
    for (int connection = 0; connection < 2; ++connection) {
        RawWs ws(port, "stream=user", "Authorization: Bearer " + token + "\r\n");
        REQUIRE(ws.upgraded());
        while (ws.next(10)) {  // every frame, the close answered
        }
        REQUIRE(ws.ended());
    }
}

}  // namespace

TEST_CASE("A client that never backfills is told each item it missed, and where") {
    TempDir dir;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, one_gap());
    o.clock = replay::ClockMode::max_speed;
    o.client_report = true;
    const Items expected = gap_items(o.tape);
    REQUIRE(expected.size() == 3);
    RunningReplay replay(o);
    stream_without_backfill(replay.port(), "tok-lazy");

    const auto report = get_json(replay.port(), "/_mastotape/report");
    REQUIRE(report["clients"].size() == 1);
    const auto& c = report["clients"][0];
    CHECK(c["name"] == "client 1");
    CHECK(missed_of(c) == expected);
    for (const auto& m : c["missed"]) {
        CHECK_THAT(m["where"].get<std::string>(),
                   Catch::Contains("published in the recorded gap 0"));
    }
    CHECK(c["items"]["missed"] == 3);
    CHECK(c["items"]["over_rest"] == 0);
    CHECK(c["items"]["available"] == c["items"]["on_stream"].get<int>() + 3);
    REQUIRE(c["connections"].size() == 2);
    CHECK(c["connections"][0]["ended_by"] == "tape");
    CHECK(c["connections"][0]["recorded_end"] == "eof");
    CHECK_THAT(c["verdict"].get<std::string>(), Catch::StartsWith("client 1: saw ") &&
                                                    Catch::Contains("; missed 3") &&
                                                    Catch::Contains("1 reconnect"));
}

TEST_CASE("mastotape record replayed a tape with gaps misses nothing (the self-check)") {
    TempDir dir;
    schema::SynthOptions so = one_gap();
    so.connection_ends = {"eof", "close"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.speed = 10;
    o.client_report = true;
    RunningReplay replay(o);
    auto r = loopback_recorder(replay.url(), dir.file("recorded.db"));
    r.max_events = so.events;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);

    const auto report = get_json(replay.port(), "/_mastotape/report");
    REQUIRE(report["clients"].size() == 1);
    const auto& c = report["clients"][0];
    INFO(c.dump(2));
    CHECK(c["missed"].empty());
    CHECK(c["items"]["over_rest"].get<int>() >= 6);  // the two gaps' items, backfilled
    CHECK(c["items"]["available"].get<int>() >= so.events);
    CHECK_FALSE(c["rest_requests"].empty());
}

TEST_CASE(
    "replay --report and --junit and --fail-on-missed judge the clients when the replay ends") {
    TempDir dir;
    const std::string tape = make_tape(dir, one_gap());
    const Items expected = gap_items(tape);
    Child replay({MASTOTAPE_BINARY, "replay", tape, "--max-speed", "--exit-when-done", "--report",
                  dir.file("report.json"), "--junit", dir.file("junit.xml"), "--fail-on-missed"},
                 dir.file("replay.out"));
    std::string url;
    REQUIRE(eventually([&] {
        const auto out = read_file(dir.file("replay.out"));
        const auto at = out.find("listening ws://127.0.0.1:");
        if (at == std::string::npos || out.find('\n', at) == std::string::npos) {
            return false;
        }
        url = out.substr(at + 25, out.find('\n', at) - at - 25);
        return true;
    }));
    stream_without_backfill(static_cast<std::uint16_t>(std::stoi(url)), "tok-lazy");
    CHECK(replay.wait() == 1);  // a client missed items

    const auto report = nlohmann::json::parse(read_file(dir.file("report.json")));
    CHECK(missed_of(report["clients"][0]) == expected);
    const std::string junit = read_file(dir.file("junit.xml"));
    CHECK_THAT(junit, Catch::Contains("<testsuite name=\"mastotape replay\" tests=\"2\" "
                                      "failures=\"2\">"));
    for (const auto& [event, id] : expected) {
        CHECK_THAT(junit, Catch::Contains(event + " " + id));
    }
    CHECK_THAT(read_file(dir.file("replay.out")), Catch::Contains("replay: client 1: saw "));
}

TEST_CASE("Without --report the replayer keeps no items and says how to get a report") {
    TempDir dir;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, one_gap());
    o.clock = replay::ClockMode::max_speed;
    RunningReplay replay(o);
    int status = 0;
    const auto answer = get_json(replay.port(), "/_mastotape/report", &status);
    CHECK(status == 409);
    CHECK_THAT(answer["error"].get<std::string>(), Catch::Contains("--report FILE"));
}

TEST_CASE("A client that never comes back misses what came after, and unanswered pings show") {
    TempDir dir;
    schema::SynthOptions so = one_gap();
    so.rate = 0.5;  // about 60 s of tape, 6 s at --speed 10, with pings every 30 s
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.speed = 10;
    o.client_report = true;
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=user");  // answers no ping
        while (ws.next(10)) {                    // to the recorded abrupt end
        }
        REQUIRE(ws.ended());
    }
    std::int64_t tape_end_ns = 0;
    {
        schema::TapeStore store(o.tape, schema::OpenMode::read);
        tape_end_ns = *store.session(1).ended_offset_ns;
    }
    // Until the client's clock has passed the tape's end.
    std::this_thread::sleep_for(std::chrono::nanoseconds(tape_end_ns / 10) +
                                std::chrono::seconds(1));
    const auto report = get_json(replay.port(), "/_mastotape/report");
    const auto& c = report["clients"][0];
    INFO(c.dump(2));
    REQUIRE(c["connections"].size() == 1);
    CHECK(c["items"]["missed"].get<int>() > 3);  // the gap's, and the next connection's
    std::size_t after = 0;
    for (const auto& m : c["missed"]) {
        after +=
            m["where"].get<std::string>().find("after its last connection") != std::string::npos;
    }
    CHECK(after == c["missed"].size());
    CHECK(c["pings"]["sent"].get<int>() >= 1);
    CHECK(c["pings"]["pongs"] == 0);
    CHECK_THAT(c["verdict"].get<std::string>(),
               Catch::Contains("; answered 0/") &&
                   Catch::Contains(" pings (Mastodon drops a client that never answers)"));
}

TEST_CASE("The report says whether a client noticed a recorded silence, and after how long") {
    TempDir dir;
    schema::SynthOptions so = one_gap();
    so.connection_ends = {"heartbeat-timeout"};
    so.heartbeat_timeout_ns = 20'000'000'000;  // 2 s of silence at --speed 10
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.speed = 10;
    o.client_report = true;
    RunningReplay replay(o);
    // Client 1 has a watchdog of 0.5 s: it leaves once nothing has come for that long, and
    // comes back, which is what noticing a silence is for.
    {
        RawWs ws(replay.port(), "stream=user", "Authorization: Bearer tok-watchful\r\n");
        while (ws.next(0.5)) {
        }
    }
    { RawWs back(replay.port(), "stream=user", "Authorization: Bearer tok-watchful\r\n"); }
    // Client 2 has none: the server ends its connection after the silence.
    {
        RawWs ws(replay.port(), "stream=user", "Authorization: Bearer tok-trusting\r\n");
        while (ws.next(60)) {
        }
        REQUIRE(ws.ended());
    }
    // Client 3 leaves as client 1 did and never comes back: it stopped (Mastodon.py's stream
    // thread dies on an exception and its socket closes later), it did not notice anything.
    {
        RawWs ws(replay.port(), "stream=user", "Authorization: Bearer tok-stopped\r\n");
        while (ws.next(0.5)) {
        }
    }
    nlohmann::json report;
    REQUIRE(eventually([&] {
        report = get_json(replay.port(), "/_mastotape/report");
        return report["clients"].size() == 3 &&
               report["clients"][2]["connections"][0]["ended_by"] == "client";
    }));
    const auto& watchful = report["clients"][0];
    const auto& trusting = report["clients"][1];
    const auto& stopped = report["clients"][2];
    INFO(report.dump(2));
    REQUIRE_FALSE(watchful["connections"].empty());
    CHECK(watchful["connections"][0]["silence_noticed_after_s"].get<double>() >= 0.4);
    CHECK_THAT(watchful["verdict"].get<std::string>(),
               Catch::Contains("; noticed the silent connection after"));
    REQUIRE_FALSE(trusting["connections"].empty());
    CHECK(trusting["connections"][0]["silence_noticed_after_s"].is_null());
    CHECK_THAT(trusting["verdict"].get<std::string>(),
               Catch::Contains("never noticed the silent connection"));
    CHECK_THAT(stopped["verdict"].get<std::string>(),
               Catch::Contains("; left the silent connection after ") &&
                   Catch::Contains(" and never came back (it stopped, not reconnected)") &&
                   !Catch::Contains("noticed"));
}

TEST_CASE("A client that leaves right after a heartbeat is said to have been unable to take it") {
    // Issue 36, item 12: a Mastodon.py client that died on a `:thump` was reported as having
    // noticed the silent connection; what the wire shows is that it left as the heartbeat came.
    TempDir dir;
    schema::SynthOptions so = one_gap();
    so.connection_ends = {};
    so.rate = 0.5;  // a minute of tape, with pings at 30 s
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.speed = 10;
    o.client_report = true;
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=user", "Authorization: Bearer tok-choking\r\n");
        while (auto f = ws.next(10)) {
            if (f->opcode == 9) {
                break;  // leaves on the ping at once
            }
        }
    }
    // One that takes the ping and leaves a second later, with what it wanted.
    {
        RawWs ws(replay.port(), "stream=user", "Authorization: Bearer tok-calm\r\n");
        while (auto f = ws.next(10)) {
            if (f->opcode == 9) {
                ws.next(1);
                break;
            }
        }
    }
    nlohmann::json report;
    REQUIRE(eventually([&] {
        report = get_json(replay.port(), "/_mastotape/report");
        return report["clients"].size() == 2 &&
               report["clients"][1]["connections"][0]["ended_by"] == "client";
    }));
    INFO(report.dump(2));
    const auto& choking = report["clients"][0];
    CHECK(choking["connections"][0]["left_after_heartbeat"] == true);
    CHECK(choking["connections"][0]["left_after_heartbeat_s"].get<double>() < 0.5);
    CHECK_THAT(choking["verdict"].get<std::string>(),
               Catch::Contains("; left connection 0 ") &&
                   Catch::Contains(" after a heartbeat (a ping or :thump) was sent: a frame it "
                                   "could not take, and never came back"));
    const auto& calm = report["clients"][1];
    CHECK_FALSE(calm["connections"][0].contains("left_after_heartbeat"));
    CHECK_THAT(calm["verdict"].get<std::string>(), !Catch::Contains("heartbeat"));
}

TEST_CASE(
    "A status on two streams is one item, and an event a fault spoiled is missed where it was") {
    TempDir dir;
    // multiplexed.jsonl with its first hashtag status made the same status as the first
    // public:local one, as Mastodon sends a public status with a followed tag on both streams.
    std::istringstream fixture(read_file(MASTOTAPE_SOURCE_DIR "/fixtures/multiplexed.jsonl"));
    std::string jsonl;
    std::string shared;      // the status on both streams
    std::string subscribes;  // what the recorded client sent, to send the same
    std::vector<nlohmann::json> events;
    bool replaced = false;
    for (std::string line; std::getline(fixture, line);) {
        const auto r = nlohmann::json::parse(line);
        if (r.value("type", "") == "frame" && r["kind"] == "event" && r["event"] == "update") {
            const std::string label = r["stream"].dump();
            if (shared.empty() && label == R"(["public:local"])") {
                shared = r["id"];
            } else if (!replaced && !shared.empty() && label == R"(["hashtag","rust"])") {
                const std::string old = r["id"];
                for (auto at = line.find(old); at != std::string::npos; at = line.find(old, at)) {
                    line.replace(at, old.size(), shared);
                }
                replaced = true;
            }
        }
        const auto edited = nlohmann::json::parse(line);
        if (edited.value("type", "") == "frame" && edited["kind"] == "event") {
            events.push_back(edited);
        }
        jsonl += line + "\n";
    }
    REQUIRE(replaced);
    const std::string tape = dir.file("dup.db");
    {
        schema::TapeStore store(tape, schema::OpenMode::create);
        std::istringstream in(jsonl);
        schema::import_jsonl(store, in, "dup.jsonl");
    }
    // The first status after the shared one is sent spoiled (cut in half).
    std::size_t spoiled = 0;
    while (events[spoiled]["event"] != "update" || events[spoiled]["id"] == shared || spoiled < 5) {
        ++spoiled;
    }
    std::string error;
    replay::ReplayOptions o;
    o.tape = tape;
    o.clock = replay::ClockMode::max_speed;
    o.client_report = true;
    o.faults = {*replay::parse_fault("malformed-at=" + std::to_string(spoiled + 1), error)};
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=user");
        for (const char* s : {R"({"type":"subscribe","stream":"user"})",
                              R"({"type":"subscribe","stream":"public:local"})",
                              R"({"type":"subscribe","stream":"hashtag","tag":"rust"})"}) {
            ws.send_frame(1, s);
        }
        while (ws.next(10)) {
        }
        REQUIRE(ws.ended());
    }
    // What it should be told: every distinct item, deletes and edits of statuses it had.
    std::set<std::pair<std::string, std::string>> items, statuses;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i]["event"] == "update" && i != spoiled) {
            statuses.insert({"update", events[i]["id"]});
        }
    }
    for (const auto& e : events) {
        const std::string event = e["event"];
        if ((event != "delete" && event != "status.update") ||
            statuses.count({"update", e["id"]})) {
            items.insert({event, e["id"]});
        }
    }
    REQUIRE(items.size() < events.size());  // the shared status, at least, is one item
    const auto report = get_json(replay.port(), "/_mastotape/report");
    const auto& c = report["clients"][0];
    INFO(c.dump(2));
    CHECK(c["items"]["available"] == items.size());
    CHECK(c["items"]["on_stream"] == items.size() - 1);
    REQUIRE(c["missed"].size() == 1);
    CHECK(c["missed"][0]["id"] == events[spoiled]["id"]);
    CHECK(c["missed"][0]["where"] == "while connection 0 was up");
}
