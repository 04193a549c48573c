#include "schema/ops/synth.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::TempDir;
using nlohmann::json;

namespace {

std::string export_text(TapeStore& store, std::int64_t id) {
    std::ostringstream out;
    export_session(store, id, out);
    return out.str();
}

std::vector<Frame> all_frames(TapeStore& store, std::int64_t id) {
    std::vector<Frame> out;
    auto cursor = store.frames_from_seq(id, 1);
    Frame f;
    while (cursor.next(f)) {
        out.push_back(f);
    }
    return out;
}

}  // namespace

TEST_CASE("The same seed gives the same session and another seed a different one") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 200;
    o.connection_ends = {"eof"};
    const auto a = export_text(store, synthesize(store, o));
    const auto b = export_text(store, synthesize(store, o));
    o.seed = 2;
    const auto c = export_text(store, synthesize(store, o));
    CHECK(a == b);
    CHECK(a != c);
}

TEST_CASE("Events are double-encoded envelopes with the stream label of their subscription") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 500;
    o.subscriptions = {{"user", ""}, {"hashtag", "rust"}, {"list", "42"}};
    const auto id = synthesize(store, o);
    std::set<std::string> labels;
    std::set<std::string> events;
    for (const auto& f : all_frames(store, id)) {
        if (f.columns.kind != FrameKind::event) {
            continue;
        }
        const auto envelope = json::parse(f.bytes);
        REQUIRE(envelope.at("payload").is_string());
        labels.insert(envelope.at("stream").dump());
        events.insert(envelope.at("event").get<std::string>());
        const std::string payload = envelope.at("payload").get<std::string>();
        const std::string event = envelope.at("event").get<std::string>();
        if (event == "update" || event == "status.update" || event == "notification") {
            const auto entity = json::parse(payload);
            CHECK(entity.at("id").get<std::string>() == *f.columns.object_id);
            CHECK(entity.at("created_at").is_string());
            if (event != "notification") {
                CHECK(entity.at("account").at("acct").is_string());
                // Public and hashtag updates gain `filtered` from the streaming server.
                CHECK(entity.contains("filtered"));
            }
        } else if (event == "delete") {
            CHECK(payload == *f.columns.object_id);
        }
    }
    CHECK(labels ==
          std::set<std::string>{R"(["user"])", R"(["hashtag","rust"])", R"(["list","42"])"});
    CHECK(events.count("update"));
    CHECK(events.count("delete"));
    CHECK(events.count("notification"));
}

TEST_CASE("Direct sessions carry complete conversations") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 20;
    o.subscriptions = {{"direct", ""}};
    for (const auto& f : all_frames(store, synthesize(store, o))) {
        if (f.columns.kind != FrameKind::event) {
            continue;
        }
        const auto conversation =
            json::parse(json::parse(f.bytes).at("payload").get<std::string>());
        CHECK(conversation.at("id").is_string());
        CHECK(conversation.at("unread").is_boolean());
        CHECK(conversation.at("accounts").is_array());
        CHECK(conversation.at("last_status").at("visibility") == "direct");
    }
}

TEST_CASE("WebSocket sessions ping every 30 s and SSE sessions thump every 15 s") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 600;
    o.rate = 2;
    std::int64_t expected_ms = 30'000;
    SECTION("websocket") {}
    SECTION("sse") {
        o.transport = Transport::sse;
        expected_ms = 15'000;
    }
    const auto id = synthesize(store, o);
    const auto beats = store.heartbeats(id);
    REQUIRE(beats.size() > 5);
    for (std::size_t i = 1; i < beats.size(); ++i) {
        const double ms = static_cast<double>(beats[i].second - beats[i - 1].second) / 1e6;
        CHECK(ms == Approx(static_cast<double>(expected_ms)).margin(5));
    }
    // The counts agree: the opening `:)` is a comment, not a heartbeat (before: one too many).
    CHECK(store.counts(id).heartbeats == static_cast<std::int64_t>(beats.size()));
    std::int64_t thumps_or_pings = 0;
    for (const auto& f : all_frames(store, id)) {
        thumps_or_pings += f.columns.kind == FrameKind::ping || f.bytes.rfind(":thump", 0) == 0;
    }
    CHECK(static_cast<std::int64_t>(beats.size()) == thumps_or_pings);
    if (o.transport == Transport::sse) {
        const auto frames = all_frames(store, id);
        CHECK(frames.front().bytes == ":)\n");
        CHECK(frames.front().columns.kind == FrameKind::comment);
        CHECK(frames.at(1).columns.kind != FrameKind::comment);
    }
}

TEST_CASE("Each connection end cause makes a gap with failed attempts and backfill") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 300;
    o.connection_ends = {"eof",       "reset",        "close", "close-no-code", "heartbeat-timeout",
                         "tls-error", "network-error"};
    const auto id = synthesize(store, o);
    const auto gaps = store.gaps(id);
    REQUIRE(gaps.size() == o.connection_ends.size());
    const auto connections = store.connections(id);
    for (std::size_t i = 0; i < gaps.size(); ++i) {
        CHECK(to_string(gaps[i].cause) == o.connection_ends[i]);
        CHECK(gaps[i].backfill_status == BackfillStatus::ok);
        CHECK(gaps[i].backfilled == 4);
        const auto& ended = connections.at(static_cast<std::size_t>(gaps[i].from_connection_idx));
        CHECK(to_string(ended.end_cause) == o.connection_ends[i]);
        CHECK(*ended.ended_offset_ns == gaps[i].start_offset_ns);
        CHECK(connections.at(ended.idx + 1).end_cause == EndCause::handshake_failed);
    }
    const auto& hb = connections.at(static_cast<std::size_t>(gaps[4].from_connection_idx));
    CHECK(hb.end_detail == "no frame or ping for 75 s");
    CHECK(connections.back().end_cause == EndCause::local_stop);
    CHECK(connections.back().close_code == 1000);
    CHECK(store.session(id).end_reason == SessionEnd::stopped);
    CHECK(verify_tape(store, false, 0).clean());
}

TEST_CASE("Hundreds of reconnects keep frame times in order") {
    // A connection's first ping falls anywhere in its first 30 s; one in its first 50 ms came
    // after the event that follows each reconnect, with an earlier time (the disconnect
    // campaign's source tapes had one in three runs, and the replay skipped that event).
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 20000;  // seed 1 puts a first ping 20 ms after the handshake at the 300th end
    o.rate = 200;
    for (int i = 0; i < 600; ++i) {
        o.connection_ends.push_back(i % 2 ? "eof" : "heartbeat-timeout");
    }
    synthesize(store, o);
    CHECK(verify_tape(store, false, 0).clean());
}

TEST_CASE("An error frame follows the bad subscribe that caused it") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 10;
    o.error_frame = true;
    const auto id = synthesize(store, o);
    const auto frames = all_frames(store, id);
    REQUIRE(frames.front().columns.kind == FrameKind::error);
    CHECK(frames.front().bytes == R"({"error":"Unknown stream type","status":400})");
    const auto messages = store.client_messages(id);
    CHECK_THAT(messages.at(1).bytes, Catch::Contains("public:nope"));
}

TEST_CASE("Options that cannot make a session are refused") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.subscriptions = {{"nonsense", ""}};
    CHECK_THROWS_AS(synthesize(store, o), std::invalid_argument);
    o.subscriptions = {{"hashtag", ""}};
    CHECK_THROWS_AS(synthesize(store, o), std::invalid_argument);
    o.subscriptions = {{"direct", ""}};
    o.event_mix = {"update"};
    CHECK_THROWS_AS(synthesize(store, o), std::invalid_argument);
    o.event_mix.clear();
    o.connection_ends = {"meteor"};
    CHECK_THROWS_AS(synthesize(store, o), std::invalid_argument);
    CHECK(store.sessions().empty());
}
