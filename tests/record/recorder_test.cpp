// The recorder against the replayer on loopback: each proves the other.

#include "record/recorder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "replay/replay_server.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/record/scripted_server.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::read_file;
using mastotape::test::RunningReplay;
using mastotape::test::TempDir;

namespace {

std::vector<schema::Frame> frames_of_kind(schema::TapeStore& store, std::int64_t id,
                                          schema::FrameKind kind) {
    std::vector<schema::Frame> out;
    auto cursor = store.frames_from_seq(id, 1);
    schema::Frame f;
    while (cursor.next(f)) {
        if (f.columns.kind == kind) {
            out.push_back(f);
        }
    }
    return out;
}

std::vector<schema::Connection> established(schema::TapeStore& store, std::int64_t id) {
    std::vector<schema::Connection> out;
    for (const auto& c : store.connections(id)) {
        if (c.handshake_offset_ns) {
            out.push_back(c);
        }
    }
    return out;
}

// Session 1's frames as (connection, kind, bytes), in order.
using WireRecord = std::tuple<std::int64_t, schema::FrameKind, std::string>;
std::vector<WireRecord> wire_records(schema::TapeStore& tape) {
    std::vector<WireRecord> out;
    auto cursor = tape.frames_from_seq(1, 1);
    schema::Frame f;
    while (cursor.next(f)) {
        out.emplace_back(f.connection_idx, f.columns.kind, f.bytes);
    }
    return out;
}

// A recording of a scripted server: no backfill, stopping at the `events`-th event.
record::RecordOptions scripted_recording(const test::ScriptedServer& server, const TempDir& dir,
                                         schema::Transport transport, std::int64_t events) {
    auto r = test::loopback_recorder(server.url(), dir.file("recorded.db"));
    r.transport = transport;
    r.backfill = false;
    r.max_events = events;
    r.max_reconnects = 10;
    return r;
}

}  // namespace

TEST_CASE("Recording a replayed tape gives the same events and the same connection ends") {
    TempDir dir;
    const auto original_path = dir.file("original.db");
    schema::SynthOptions so;
    so.events = 60;
    so.rate = 40;
    so.connection_ends = {"eof", "close", "close-no-code", "reset"};
    so.subscriptions = {{"user", ""}};
    std::int64_t original_id = 0;
    {
        schema::TapeStore store(original_path, schema::OpenMode::create);
        original_id = schema::synthesize(store, so);
    }
    replay::ReplayOptions ro;
    ro.tape = original_path;
    ro.speed = 10;
    RunningReplay replay(ro);

    auto r = test::loopback_recorder(replay.url(), dir.file("recorded.db"));
    r.max_events = so.events;
    r.token = "tok-SECRET-0123456789";
    SECTION("token in the Authorization header") {}
    SECTION("token in the query") { r.token_in = schema::TokenIn::query; }
    SECTION("token as the subprotocol") { r.token_in = schema::TokenIn::subprotocol; }
    SECTION("a token that occurs in ordinary header values and in the redaction mark") {
        r.token = "t";  // redacting it once looped forever
    }
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);

    schema::TapeStore original(original_path, schema::OpenMode::read);
    schema::TapeStore recorded(r.db, schema::OpenMode::read);
    const auto id = recorded.newest_session_id();
    const auto want = frames_of_kind(original, original_id, schema::FrameKind::event);
    const auto got = frames_of_kind(recorded, id, schema::FrameKind::event);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CHECK(got[i].bytes == want[i].bytes);
        CHECK(got[i].columns == want[i].columns);
    }
    const auto want_conns = established(original, original_id);
    const auto got_conns = established(recorded, id);
    REQUIRE(got_conns.size() == want_conns.size());
    for (std::size_t i = 0; i + 1 < want_conns.size(); ++i) {
        INFO("connection " << i);
        CHECK(got_conns[i].end_cause == want_conns[i].end_cause);
        CHECK(got_conns[i].close_code == want_conns[i].close_code);
        CHECK(got_conns[i].close_reason == want_conns[i].close_reason);
    }
    CHECK(got_conns.back().end_cause == schema::EndCause::local_stop);
    CHECK(recorded.gaps(id).size() == so.connection_ends.size());
    CHECK(recorded.session(id).end_reason == schema::SessionEnd::count);
    CHECK(schema::verify_tape(recorded, false, 0).clean());

    // The token reaches neither the tape nor its WAL.
    for (const char* suffix : {"", "-wal"}) {
        CHECK(read_file(r.db + suffix).find("tok-SECRET") == std::string::npos);
    }
}

TEST_CASE("An SSE tape records back over SSE with its comments and events") {
    TempDir dir;
    const auto original_path = dir.file("original.db");
    schema::SynthOptions so;
    so.events = 30;
    so.rate = 0.5;  // 60 s of tape: thumps every 15 s
    so.transport = schema::Transport::sse;
    so.subscriptions = {{"hashtag", "rust"}};
    std::int64_t original_id = 0;
    {
        schema::TapeStore store(original_path, schema::OpenMode::create);
        original_id = schema::synthesize(store, so);
    }
    replay::ReplayOptions ro;
    ro.tape = original_path;
    ro.speed = 100;
    RunningReplay replay(ro);
    auto r = test::loopback_recorder(replay.url(), dir.file("recorded.db"));
    r.transport = schema::Transport::sse;
    r.subscriptions = {{"hashtag", "rust"}};
    r.max_events = so.events;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);

    schema::TapeStore original(original_path, schema::OpenMode::read);
    schema::TapeStore recorded(r.db, schema::OpenMode::read);
    const auto id = recorded.newest_session_id();
    CHECK(frames_of_kind(recorded, id, schema::FrameKind::comment).front().bytes == ":)\n");
    const auto want = frames_of_kind(original, original_id, schema::FrameKind::event);
    const auto got = frames_of_kind(recorded, id, schema::FrameKind::event);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CHECK(got[i].bytes == want[i].bytes);
    }
    CHECK(frames_of_kind(recorded, id, schema::FrameKind::comment).size() ==
          frames_of_kind(original, original_id, schema::FrameKind::comment).size());
}

TEST_CASE(
    "Every stream records back byte for byte, over WebSocket and over SSE, and backfills a gap "
    "from the stream's own REST timeline") {
    const std::vector<schema::Subscription> streams = {
        {"user", ""},          {"user:notification", ""},
        {"public", ""},        {"public:media", ""},
        {"public:local", ""},  {"public:local:media", ""},
        {"public:remote", ""}, {"public:remote:media", ""},
        {"hashtag", "rust"},   {"hashtag:local", "rust"},
        {"list", "42"},        {"direct", ""},
    };
    for (const auto transport : {schema::Transport::websocket, schema::Transport::sse}) {
        for (const auto& stream : streams) {
            INFO(stream.label() << " over " << schema::to_string(transport));
            TempDir dir;
            schema::SynthOptions so;
            // Backfill depends on the stream, not the transport: one gap, over WebSocket.
            const bool gap = transport == schema::Transport::websocket;
            so.events = gap ? 6 : 12;
            so.rate = gap ? 2 : 1000;  // with a gap: events far enough apart for the backfill
            so.transport = transport;
            so.subscriptions = {stream};
            if (gap) {
                so.connection_ends = {"eof"};
                so.failed_attempts = 0;  // a short gap
            }
            const auto original_path = dir.file("original.db");
            {
                schema::TapeStore store(original_path, schema::OpenMode::create);
                schema::synthesize(store, so);
            }
            replay::ReplayOptions ro;
            ro.tape = original_path;
            if (gap) {
                ro.speed = 2;  // not --max-speed: the REST clock must stand where the gap ended
            } else {
                ro.clock = replay::ClockMode::max_speed;
            }
            RunningReplay replay(ro);
            auto r = test::loopback_recorder(replay.url(), dir.file("recorded.db"));
            r.transport = transport;
            r.subscriptions = {stream};
            r.max_events = so.events;
            record::Recorder recorder(r);
            REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);

            schema::TapeStore original(original_path, schema::OpenMode::read);
            schema::TapeStore recorded(r.db, schema::OpenMode::read);
            const auto want = frames_of_kind(original, 1, schema::FrameKind::event);
            const auto got = frames_of_kind(recorded, 1, schema::FrameKind::event);
            REQUIRE(want.size() == static_cast<std::size_t>(so.events));
            REQUIRE(got.size() == want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
                CHECK(got[i].bytes == want[i].bytes);
                CHECK(got[i].columns == want[i].columns);
            }
            CHECK(recorded.session(1).subscriptions == std::vector{stream});
            // The backfill gets what the recorded one got. A slow machine (ThreadSanitizer runs
            // ten times slower) may ask after the replay clock has passed the recorded fetch:
            // the page then also holds items the stream had already delivered, marked so.
            std::set<std::tuple<std::string, std::string, std::string>> want_items;
            for (const auto& b : original.backfill(1)) {
                want_items.emplace(b.endpoint, b.object_id, b.body);
            }
            CHECK(want_items.size() >= (gap ? 3U : 0U));
            std::size_t found = 0;
            for (const auto& b : recorded.backfill(1)) {
                if (want_items.count({b.endpoint, b.object_id, b.body}) != 0) {
                    ++found;
                } else {
                    CHECK(b.already_streamed);
                }
            }
            CHECK(found == want_items.size());
        }
    }
}

TEST_CASE("A refused token ends the recording with exit code 3 and the server's message") {
    TempDir dir;
    const auto original_path = dir.file("original.db");
    {
        schema::TapeStore store(original_path, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 5;
        schema::synthesize(store, so);
    }
    replay::ReplayOptions ro;
    ro.tape = original_path;
    ro.require_token = "the-right-one";
    RunningReplay replay(ro);
    auto r = test::loopback_recorder(replay.url(), dir.file("recorded.db"));
    r.token = "a-wrong-one";
    record::Recorder recorder(r);
    CHECK(recorder.run().outcome == record::RecordOutcome::token_refused);
    schema::TapeStore recorded(r.db, schema::OpenMode::read);
    const auto conns = recorded.connections(1);
    REQUIRE(conns.size() == 1);
    CHECK(conns[0].http_status == 401);
    CHECK(conns[0].error_message == "Invalid access token");
    CHECK(conns[0].end_cause == schema::EndCause::handshake_failed);
    CHECK(recorded.session(1).end_reason == schema::SessionEnd::error);
}

TEST_CASE("A silent connection is ended by the watchdog as a heartbeat timeout") {
    TempDir dir;
    const auto original_path = dir.file("original.db");
    {
        schema::TapeStore store(original_path, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 20;
        so.rate = 20;
        so.connection_ends = {"heartbeat-timeout"};
        so.heartbeat_timeout_ns = 3'000'000'000;  // 3 s of silence in the tape
        schema::synthesize(store, so);
    }
    replay::ReplayOptions ro;
    ro.tape = original_path;
    ro.speed = 2;  // 1.5 s of silence on the wire
    RunningReplay replay(ro);
    auto r = test::loopback_recorder(replay.url(), dir.file("recorded.db"));
    r.heartbeat_timeout_s = 0.5;
    r.max_events = 20;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
    schema::TapeStore recorded(r.db, schema::OpenMode::read);
    const auto conns = established(recorded, 1);
    REQUIRE(conns.size() >= 2);
    CHECK(conns[0].end_cause == schema::EndCause::heartbeat_timeout);
    CHECK(recorded.gaps(1).at(0).cause == schema::EndCause::heartbeat_timeout);
}

TEST_CASE("A count stop that meets the server's own close at --max-speed ends the recording") {
    // The recorder's close crossed the replayer's end-of-tape close with frames still buffered:
    // Beast's close and read each waited for the other's lock and the recorder hung for good
    // (every time, at 10,000 events).
    TempDir dir;
    const auto original_path = dir.file("original.db");
    {
        schema::TapeStore store(original_path, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 10000;
        so.rate = 1000;
        schema::synthesize(store, so);
    }
    for (int run = 0; run < 3; ++run) {
        replay::ReplayOptions ro;
        ro.tape = original_path;
        ro.clock = replay::ClockMode::max_speed;
        RunningReplay replay(ro);
        auto r = test::loopback_recorder(replay.url(),
                                         dir.file("recorded-" + std::to_string(run) + ".db"));
        r.max_events = 10000;
        record::Recorder recorder(r);
        REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
        schema::TapeStore recorded(r.db, schema::OpenMode::read);
        CHECK(recorded.counts(1).events == 10000);
        CHECK(recorded.session(1).end_reason == schema::SessionEnd::count);
    }
}

TEST_CASE("A handshake that never answers fails after --handshake-timeout") {
    // A listening socket nobody accepts on: the kernel completes the TCP handshake, and the
    // upgrade request goes unanswered.
    test::SilentListener silent;
    TempDir dir;
    auto r = test::loopback_recorder("ws://127.0.0.1:" + std::to_string(silent.port()),
                                     dir.file("recorded.db"));
    r.handshake_timeout_s = 0.5;
    r.max_reconnects = 0;
    record::Recorder recorder(r);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(recorder.run().outcome == record::RecordOutcome::failed);  // gave up after 0 reconnects
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    schema::TapeStore recorded(r.db, schema::OpenMode::read);
    const auto conns = recorded.connections(1);
    REQUIRE(conns.size() == 1);
    CHECK(conns[0].end_cause == schema::EndCause::handshake_failed);
    CHECK_THAT(conns[0].end_detail, Catch::Contains("timeout"));
}

TEST_CASE("A --duration stop ends a handshake still waiting, at once, as a local stop") {
    test::SilentListener silent;
    TempDir dir;
    for (const auto transport : {schema::Transport::websocket, schema::Transport::sse}) {
        INFO(schema::to_string(transport));
        const auto db = dir.file(std::string(schema::to_string(transport)) + ".db");
        auto r = test::loopback_recorder("ws://127.0.0.1:" + std::to_string(silent.port()), db);
        r.transport = transport;
        r.handshake_timeout_s = 60;  // the handshake would wait this long
        r.duration_s = 0.3;
        record::Recorder recorder(r);
        CHECK(recorder.run().outcome == record::RecordOutcome::finished);
        schema::TapeStore recorded(db, schema::OpenMode::read);
        CHECK(recorded.session(1).end_reason == schema::SessionEnd::duration);
        const auto conns = recorded.connections(1);
        REQUIRE(conns.size() == 1);  // and no reconnect after the stop
        CHECK(conns[0].end_cause == schema::EndCause::local_stop);
        CHECK_THAT(conns[0].end_detail, Catch::StartsWith("stopped before the"));
        CHECK_FALSE(conns[0].handshake_offset_ns.has_value());
        // It ended when the stop came (0.3 s in), not when the handshake's deadline ran out.
        REQUIRE(conns[0].ended_offset_ns.has_value());
        CHECK(*conns[0].ended_offset_ns - conns[0].started_offset_ns < 30'000'000'000);
    }
}

TEST_CASE(
    "Whatever a server sends is recorded and survived: binary, non-JSON and invalid UTF-8 frames, "
    "half a frame, a frame over --max-frame, a handshake that is not HTTP or not a valid "
    "upgrade") {
    using test::ScriptedServer;
    using test::ws_frame;
    const auto event = [](int n) {
        return R"({"stream":["user"],"event":"update","payload":"{\"id\":\")" + std::to_string(n) +
               R"(\"}"})";
    };
    const std::string binary("\x00\x01\xff\xfe binary", 12);
    const std::string not_json = "not json {";
    const std::string bad_utf8 = "{\"a\":\"\xc3\x28\"}";
    ScriptedServer server({
        // 0: an event, a ping, a binary frame, a text that is not JSON, then invalid UTF-8.
        [&](ScriptedServer& s, int fd) {
            s.upgrade(fd);
            s.send(fd, ws_frame(1, event(1)) + ws_frame(9, "p1") + ws_frame(2, binary) +
                           ws_frame(1, not_json) + ws_frame(1, bad_utf8));
            s.read_until_closed(fd);
        },
        // 1: an event, then the first half of a frame, then the end of the stream.
        [&](ScriptedServer& s, int fd) {
            s.upgrade(fd);
            const std::string half = ws_frame(1, event(99) + std::string(200, ' '));
            s.send(fd, ws_frame(1, event(2)) + half.substr(0, half.size() / 2));
            ::shutdown(fd, SHUT_WR);
            s.read_until_closed(fd);
        },
        // 2: an event, then a frame over --max-frame.
        [&](ScriptedServer& s, int fd) {
            s.upgrade(fd);
            s.send(fd, ws_frame(1, event(3)) + ws_frame(1, std::string(5000, 'x')));
            s.read_until_closed(fd);
        },
        // 3: not HTTP at all.
        [](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
        },
        // 4: a 101 whose Sec-WebSocket-Accept is wrong.
        [](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                   "Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n");
        },
        // 5: a well-behaved connection; the recorder stops at its event.
        [&](ScriptedServer& s, int fd) {
            s.upgrade(fd);
            s.send(fd, ws_frame(1, event(4)));
            s.read_until_closed(fd);
        },
    });
    TempDir dir;
    auto r = scripted_recording(server, dir, schema::Transport::websocket, 4);
    r.max_frame = 4096;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
    CHECK(server.accepted() == 6);

    schema::TapeStore tape(r.db, schema::OpenMode::read);
    CHECK(tape.session(1).end_reason == schema::SessionEnd::count);
    const auto conns = tape.connections(1);
    REQUIRE(conns.size() == 6);
    CHECK(conns[0].end_cause == schema::EndCause::protocol_error);
    CHECK_THAT(conns[0].end_detail, Catch::Contains("utf8"));
    CHECK(conns[1].end_cause == schema::EndCause::eof);
    CHECK(conns[1].close_code == 1006);
    CHECK(conns[2].end_cause == schema::EndCause::frame_too_large);
    CHECK(conns[2].close_code == 1009);
    for (const int i : {3, 4}) {
        INFO("connection " << i);
        CHECK_FALSE(conns[static_cast<std::size_t>(i)].handshake_offset_ns);
        CHECK(conns[static_cast<std::size_t>(i)].end_cause == schema::EndCause::handshake_failed);
        CHECK_FALSE(conns[static_cast<std::size_t>(i)].end_detail.empty());
    }
    CHECK_THAT(conns[4].end_detail, Catch::Contains("Sec-WebSocket-Accept"));
    CHECK(conns[5].end_cause == schema::EndCause::local_stop);
    CHECK(conns[5].close_code == 1000);
    const auto gaps = tape.gaps(1);
    REQUIRE(gaps.size() == 3);
    CHECK(gaps[0].cause == schema::EndCause::protocol_error);
    CHECK(gaps[1].cause == schema::EndCause::eof);
    CHECK(gaps[2].cause == schema::EndCause::frame_too_large);

    // Every whole frame, byte for byte and in order; half a frame, invalid UTF-8 and a frame over
    // the limit are not frames.
    using K = schema::FrameKind;
    const std::vector<WireRecord> expected = {
        {0, K::event, event(1)}, {0, K::ping, "p1"},      {0, K::binary, binary},
        {0, K::text, not_json},  {1, K::event, event(2)}, {2, K::event, event(3)},
        {5, K::event, event(4)},
    };
    CHECK(wire_records(tape) == expected);
    // The pong sent back for the ping, with its payload, after it.
    const auto sent = tape.client_messages(1);
    const auto pong = std::find_if(sent.begin(), sent.end(), [](const auto& m) {
        return m.kind == schema::MessageKind::pong;
    });
    REQUIRE(pong != sent.end());
    CHECK(pong->bytes == "p1");
    CHECK(pong->connection_idx == 0);
    CHECK(pong->after_seq == 2);
    CHECK(schema::verify_tape(tape, false, 0).clean());
}

TEST_CASE(
    "Whatever an SSE server sends is recorded and survived: lines that are not SSE, invalid "
    "UTF-8, an event cut off mid-chunk, an event over --max-frame, a body that is not chunked") {
    using test::ScriptedServer;
    const auto chunk = [](const std::string& data) {
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        return size + data + "\r\n";
    };
    const auto event = [](int n) {
        return "event: update\ndata: {\"id\":\"" + std::to_string(n) + "\"}\n\n";
    };
    const std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string garbage = "this is not sse\n\n";
    const std::string bad_utf8 = "event: update\ndata: {\"a\":\"\xc3\x28\"}\n\n";
    ScriptedServer server({
        [&](ScriptedServer& s, int fd) {
            s.read_request(fd);
            const std::string cut = chunk(event(99));
            s.send(fd, head + chunk(":)\n") + chunk(event(1)) + chunk(garbage) + chunk(bad_utf8) +
                           cut.substr(0, cut.size() / 2));
            ::shutdown(fd, SHUT_WR);
            s.read_until_closed(fd);
        },
        // An event, then one that grows past --max-frame without ending.
        [&](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd, head + chunk(":)\n") + chunk(event(2)) +
                           chunk("event: update\ndata: " + std::string(5000, 'x')));
            s.read_until_closed(fd);
        },
        // Not chunked: a body that simply runs until the connection ends.
        [&](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n:)\n" + event(3));
            s.read_until_closed(fd);
        },
    });
    TempDir dir;
    auto r = scripted_recording(server, dir, schema::Transport::sse, 4);
    r.max_frame = 4096;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);
    CHECK(server.accepted() == 3);
    schema::TapeStore tape(r.db, schema::OpenMode::read);
    CHECK(tape.session(1).end_reason == schema::SessionEnd::count);
    const auto conns = tape.connections(1);
    REQUIRE(conns.size() == 3);
    CHECK(conns[0].end_cause == schema::EndCause::eof);  // mid-chunk: the half event is not a frame
    CHECK(conns[1].end_cause == schema::EndCause::frame_too_large);
    CHECK(conns[2].end_cause == schema::EndCause::local_stop);
    using K = schema::FrameKind;
    const std::vector<WireRecord> expected = {
        {0, K::comment, ":)\n"}, {0, K::event, event(1)}, {0, K::text, garbage},
        {0, K::event, bad_utf8}, {1, K::comment, ":)\n"}, {1, K::event, event(2)},
        {2, K::comment, ":)\n"}, {2, K::event, event(3)},
    };
    CHECK(wire_records(tape) == expected);
    CHECK(schema::verify_tape(tape, false, 0).clean());
}

TEST_CASE("After each reconnect the recorder backfills what the gap missed over REST") {
    TempDir dir;
    const auto original_path = dir.file("original.db");
    schema::SynthOptions so;
    so.events = 60;
    so.rate = 40;
    so.connection_ends = {"eof", "close"};
    so.missed_per_gap = 45;  // more than one page of 40: the recorder must follow rel="prev"
    std::int64_t original_id = 0;
    {
        schema::TapeStore store(original_path, schema::OpenMode::create);
        original_id = schema::synthesize(store, so);
    }
    replay::ReplayOptions ro;
    ro.tape = original_path;
    ro.speed = 10;
    SECTION("plain") {}
    SECTION("rate-limited to one request per window") {
        ro.rate_limit = 1;
        ro.speed = 1;  // time for the retries to run out before the tape ends
    }
    RunningReplay replay(ro);
    auto r = test::loopback_recorder(replay.url(), dir.file("recorded.db"));
    r.max_reconnects = 1000;
    r.max_events = so.events;
    r.token = "tok";
    r.rate_limit_wait_cap_s = 0.05;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);

    schema::TapeStore original(original_path, schema::OpenMode::read);
    schema::TapeStore recorded(r.db, schema::OpenMode::read);
    const auto id = recorded.newest_session_id();
    const auto gaps = recorded.gaps(id);
    REQUIRE(gaps.size() == 2);
    std::set<std::string> got;
    std::set<std::string> queries;
    for (const auto& b : recorded.backfill(id)) {
        got.insert(b.object_id);
        queries.insert(b.query);
        // The user stream backfills from home and, once a notification has streamed, from
        // notifications too.
        CHECK((b.endpoint == "/api/v1/timelines/home" || b.endpoint == "/api/v1/notifications"));
        CHECK_THAT(b.query, Catch::Contains("min_id="));
        CHECK(b.body.front() == '{');
    }
    if (ro.rate_limit == 0) {
        // The first page is asked for after the newest id seen; later pages come from the
        // Link header's rel="prev" (which puts limit first, as Mastodon does).
        CHECK(std::any_of(queries.begin(), queries.end(),
                          [](const auto& q) { return q.rfind("min_id=", 0) == 0; }));
        CHECK(std::any_of(queries.begin(), queries.end(),
                          [](const auto& q) { return q.rfind("limit=40&min_id=", 0) == 0; }));
    }
    if (ro.rate_limit == 0) {
        // Every item the original gaps missed (and did not stream) comes back, exact bytes and all.
        for (const auto& b : original.backfill(original_id)) {
            if (!b.already_streamed) {
                CHECK(got.count(b.object_id) == 1);
            }
        }
        for (const auto& g : gaps) {
            INFO("gap " << g.idx << ": " << g.backfill_error);
            CHECK(g.backfill_status == schema::BackfillStatus::ok);
            CHECK(g.backfilled >= so.missed_per_gap);
        }
    } else {
        // The first gap's first page gets through; after that every request meets a 429, which
        // is recorded on the gap and never ends the recording.
        CHECK(gaps[1].backfill_status == schema::BackfillStatus::failed);
        CHECK_THAT(gaps[1].backfill_error, Catch::Contains("HTTP 429"));
    }
    CHECK(schema::verify_tape(recorded, false, 0).clean());
}
