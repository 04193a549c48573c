// The recorder against what a hostile campaign threw at it (issue 16): a server that breaks
// every connection after its handshake, an instance that names a cleartext streaming server, a
// stop while discovery waits. Each case failed before its fix.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>

#include "record/recorder.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/record/loopback_recorder.hpp"
#include "tests/record/scripted_server.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::Child;
using mastotape::test::eventually;
using mastotape::test::read_file;
using mastotape::test::ScriptedServer;
using mastotape::test::TempDir;

namespace {

// Scripts that answer the upgrade, then hold the connection until the client goes.
std::vector<ScriptedServer::Script> upgrade_and_hold(int n) {
    return std::vector<ScriptedServer::Script>(static_cast<std::size_t>(n),
                                               [](ScriptedServer& s, int fd) {
                                                   s.upgrade(fd);
                                                   s.read_until_closed(fd);
                                               });
}

// An https:// instance whose /api/v2/instance names `streaming` as its streaming server:
// `openssl s_server -WWW` serving a file, with a certificate of a throwaway CA (DIR/ca.pem).
class TlsInstance {
   public:
    TlsInstance(const TempDir& dir, const std::string& streaming) {
        REQUIRE(mastotape::test::make_test_certificates(dir, "IP:127.0.0.1"));
        std::filesystem::create_directories(dir.path() / "www/api/v2");
        mastotape::test::write_file(
            dir.file("www/api/v2/instance"),
            R"({"configuration":{"urls":{"streaming":")" + streaming + R"("}}})");
        server_ = std::make_unique<Child>(
            std::vector<std::string>{"/bin/sh", "-c",
                                     "cd '" + dir.file("www") +
                                         "' && exec openssl s_server -accept 127.0.0.1:0 -cert "
                                         "../server.pem -key ../server.key -WWW"},
            dir.file("s_server.out"));
        REQUIRE(eventually([&] {
            const auto out = read_file(dir.file("s_server.out"));
            const auto at = out.find("ACCEPT 127.0.0.1:");
            if (at == std::string::npos || out.find('\n', at) == std::string::npos) {
                return false;
            }
            url_ = "https://127.0.0.1:" + std::to_string(std::stoi(out.substr(at + 17)));
            return true;
        }));
    }
    const std::string& url() const { return url_; }

   private:
    std::unique_ptr<Child> server_;
    std::string url_;
};

// Records two seconds from `server` with a quick backoff (0.05 s, doubling up to 10 s).
void record_two_seconds(const ScriptedServer& server) {
    TempDir dir;
    auto r = test::loopback_recorder(server.url(), dir.file("rec.db"));
    r.backoff_start_s = 0.05;
    r.backoff_cap_s = 10;
    r.duration_s = 2;
    record::Recorder recorder(r);
    CHECK(recorder.run().outcome == record::RecordOutcome::finished);
}

}  // namespace

TEST_CASE("A server that breaks every connection after its handshake gets a growing backoff") {
    // Each connection is up for a moment with nothing on it: not proof the server works. Before,
    // every handshake reset the backoff: ~4.5 reconnects a second at the default start of 1 s.
    ScriptedServer server(
        std::vector<ScriptedServer::Script>(200, [](ScriptedServer& s, int fd) { s.upgrade(fd); }));
    record_two_seconds(server);
    // Delays drawn from [0, 0.05 s x 2^n): about seven attempts fit in two seconds; with the
    // backoff reset each time, ~80 did.
    CHECK(server.accepted() >= 3);
    CHECK(server.accepted() <= 12);
}

TEST_CASE("A connection that delivers its one event and breaks gets a growing backoff too") {
    // Before, any frame counted as health: a server that accepts, sends what it had queued and
    // drops was asked again 1.4 times a second at the default start of 1 s.
    ScriptedServer server(std::vector<ScriptedServer::Script>(200, [](ScriptedServer& s, int fd) {
        s.upgrade(fd);
        s.send(fd, test::ws_frame(1, R"({"stream":["user"],"event":"delete","payload":"1"})"));
        s.read_until_closed(fd, 50);
    }));
    record_two_seconds(server);
    CHECK(server.accepted() >= 3);
    CHECK(server.accepted() <= 12);
}

TEST_CASE("A connection that received a heartbeat resets the backoff") {
    // The opposite case: each connection delivers a ping (the server's timer runs), then breaks.
    // The backoff stays at its start, so reconnects keep coming quickly.
    ScriptedServer server(std::vector<ScriptedServer::Script>(200, [](ScriptedServer& s, int fd) {
        s.upgrade(fd);
        s.send(fd, test::ws_frame(9, "ping"));
        s.read_until_closed(fd, 50);
    }));
    record_two_seconds(server);
    CHECK(server.accepted() > 12);
}

TEST_CASE("An https instance that names a cleartext streaming server is refused, unless allowed") {
    ScriptedServer streaming(upgrade_and_hold(10));
    TempDir dir;
    TlsInstance instance(dir, streaming.url());
    auto r = test::loopback_recorder(instance.url(), dir.file("rec.db"));
    r.cacert = dir.file("ca.pem");
    r.token = "tok-CLEARTEXT-SECRET";
    r.duration_s = 1;
    SECTION("refused: the token never goes out") {
        record::Recorder recorder(r);
        CHECK(recorder.run().outcome == record::RecordOutcome::failed);
        CHECK(streaming.accepted() == 0);
        schema::TapeStore tape(r.db, schema::OpenMode::read);
        CHECK(tape.session(1).end_reason == schema::SessionEnd::error);
        CHECK_THAT(tape.session(1).end_detail,
                   Catch::Contains("names a cleartext streaming server, " + streaming.url()));
        CHECK_THAT(tape.session(1).end_detail, Catch::Contains("--allow-insecure-streaming"));
        CHECK(tape.connections(1).empty());
    }
    SECTION("allowed") {
        r.allow_insecure_streaming = true;
        record::Recorder recorder(r);
        CHECK(recorder.run().outcome == record::RecordOutcome::finished);
        CHECK(streaming.accepted() >= 1);
        schema::TapeStore tape(r.db, schema::OpenMode::read);
        REQUIRE_FALSE(tape.connections(1).empty());
        CHECK_THAT(tape.connections(1).front().url, Catch::StartsWith(streaming.url()));
    }
}

TEST_CASE("A --duration stop ends a discovery still waiting, at once") {
    // An instance that accepts and never answers: discovery would wait out its deadline (60 s),
    // and before the fix the stop waited with it.
    test::SilentListener silent;
    TempDir dir;
    auto r = test::loopback_recorder("http://127.0.0.1:" + std::to_string(silent.port()),
                                     dir.file("rec.db"));
    r.handshake_timeout_s = 60;
    r.duration_s = 0.3;
    record::Recorder recorder(r);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(recorder.run().outcome == record::RecordOutcome::finished);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));  // not the deadline
    schema::TapeStore tape(r.db, schema::OpenMode::read);
    CHECK(tape.session(1).end_reason == schema::SessionEnd::duration);
    CHECK(tape.connections(1).empty());  // no attempt after the stop
}

TEST_CASE("An attempt that never got an HTTP response stores no status, and why it failed") {
    using Script = ScriptedServer::Script;
    auto answer = [](std::string bytes) -> Script {
        return [bytes](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd, bytes);
        };
    };
    ScriptedServer server({
        answer("garbage that is not HTTP\r\n\r\n"),
        answer("HTTP/1.1 101 Switching Protocols\r\nX-Huge: " + std::string(200'000, 'a') +
               "\r\n\r\n"),
        answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nBad\x01Name: x\r\n\r\n"),
        [](ScriptedServer& s, int fd) {  // silence past the handshake deadline
            s.read_request(fd);
            s.read_until_closed(fd, 3000);
        },
        answer("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"),
    });
    TempDir dir;
    auto r = test::loopback_recorder(server.url(), dir.file("rec.db"));
    r.handshake_timeout_s = 0.5;
    r.max_reconnects = 4;
    record::Recorder recorder(r);
    CHECK(recorder.run().outcome == record::RecordOutcome::failed);  // gave up after 4 reconnects
    schema::TapeStore tape(r.db, schema::OpenMode::read);
    const auto conns = tape.connections(1);
    REQUIRE(conns.size() == 5);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("attempt " << i << ": " << conns[i].end_detail);
        // Before: 500, a status no server sent.
        CHECK_FALSE(conns[i].http_status.has_value());
        CHECK(conns[i].end_cause == schema::EndCause::handshake_failed);
        CHECK_FALSE(conns[i].end_detail.empty());
    }
    CHECK(conns[4].http_status == 503);  // a real answer keeps its status
    CHECK(conns[4].end_detail == "HTTP 503 Service Unavailable");
}

TEST_CASE(
    "The recorder's --max-reconnects counts them in a row: a healthy connection starts over") {
    // Before, it counted every reconnect of the session: a recording of weeks gave up after N of
    // a server's ordinary restarts.
    using test::ws_frame;
    const auto one_event = [](ScriptedServer& s, int fd) {  // and a heartbeat: healthy
        s.upgrade(fd);
        s.send(fd,
               ws_frame(1, R"({"stream":["user"],"event":"update","payload":"{\"id\":\"1\"}"})"));
        s.send(fd, ws_frame(9, ""));
    };
    const auto refuse = [](ScriptedServer& s, int fd) {
        s.read_request(fd);
        s.send(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    };
    ScriptedServer server({one_event, one_event, one_event, refuse, refuse});
    TempDir dir;
    auto r = test::loopback_recorder(server.url(), dir.file("rec.db"));
    r.max_reconnects = 1;
    r.backfill = false;  // every connection to the server is a stream's
    record::Recorder recorder(r);
    CHECK(recorder.run().outcome == record::RecordOutcome::failed);
    schema::TapeStore tape(r.db, schema::OpenMode::read);
    const auto conns = tape.connections(1);
    for (const auto& c : conns) {
        UNSCOPED_INFO(c.idx << ": " << schema::to_string(c.end_cause) << " " << c.end_detail);
    }
    // Three healthy connections, each followed by a reconnect, then one refusal in a row: given
    // up there, not after the second connection.
    REQUIRE(conns.size() == 4);
    CHECK(conns[3].http_status == 503);
    CHECK(tape.session(1).end_detail ==
          "gave up after 1 reconnects in a row without a healthy connection");
}

TEST_CASE("A server's protocol violation is the end, at once, with the code sent for it") {
    // Each server holds its connection after what it did, as a broken server would, for longer
    // than the heartbeat timeout. Before, Beast's teardown waited for it to close TCP: the
    // violations were recorded as heartbeat-timeout with no code, and a close frame followed by
    // a reset as a reset.
    using test::ws_frame;
    const auto event = [](int n) {
        return ws_frame(1, R"({"stream":["user"],"event":"update","payload":"{\"id\":\")" +
                               std::to_string(n) + R"(\"}"})");
    };
    std::mutex mutex;
    std::vector<std::string> closes_received;  // what each connection's client closed with
    auto then_hold = [&](std::string bytes) -> ScriptedServer::Script {
        return [&, bytes](ScriptedServer& s, int fd) {
            s.upgrade(fd);
            s.send(fd, bytes);
            const auto close = s.read_close(fd);
            {
                std::lock_guard lock(mutex);
                closes_received.push_back(close.value_or("(none)"));
            }
            s.read_until_closed(fd, 30'000);
        };
    };
    ScriptedServer server({
        then_hold(event(1) + ws_frame(1, "{\"a\":\"\xc3\x28\"}")),   // 0: not UTF-8
        then_hold(ws_frame(3, "reserved opcode")),                   // 1
        then_hold(ws_frame(1, std::string(5000, 'x'))),              // 2: over --max-frame
        then_hold(ws_frame(8, std::string("\x0f\xa0", 2) + "bye")),  // 3: a close, TCP held
        [&](ScriptedServer& s, int fd) {  // 4: a close, then a reset once it is answered
            s.upgrade(fd);
            s.send(fd, ws_frame(8, "\x03\xe9"));
            const auto close = s.read_close(fd);
            {
                std::lock_guard lock(mutex);
                closes_received.push_back(close.value_or("(none)"));
            }
            const linger reset{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        },
        [&](ScriptedServer& s, int fd) {  // 5: the recorder stops at its event, and it answers
            s.upgrade(fd);
            s.send(fd, event(2));
            const auto close = s.read_close(fd);
            s.send(fd, ws_frame(8, close.value_or("")));
            std::lock_guard lock(mutex);
            closes_received.push_back(close.value_or("(none)"));
        },
    });
    TempDir dir;
    auto r = test::loopback_recorder(server.url(), dir.file("rec.db"));
    r.backfill = false;
    r.max_events = 2;
    r.max_frame = 4096;
    r.heartbeat_timeout_s = 15;
    record::Recorder recorder(r);
    REQUIRE(recorder.run().outcome == record::RecordOutcome::finished);

    schema::TapeStore tape(r.db, schema::OpenMode::read);
    CHECK(tape.session(1).end_reason == schema::SessionEnd::count);
    const auto conns = tape.connections(1);
    REQUIRE(conns.size() == 6);
    using C = schema::EndCause;
    const std::vector<std::pair<C, std::int64_t>> ends = {
        {C::protocol_error, 1007}, {C::protocol_error, 1002}, {C::frame_too_large, 1009},
        {C::close, 4000},          {C::close, 1001},          {C::local_stop, 1000},
    };
    const std::vector<std::string> codes = {"\x03\xef", "\x03\xea", "\x03\xf1",
                                            "\x0f\xa0", "\x03\xe9", "\x03\xe8"};
    const auto sent = tape.client_messages(1);
    for (std::size_t i = 0; i < conns.size(); ++i) {
        INFO("connection " << i << ": " << schema::to_string(conns[i].end_cause) << " "
                           << conns[i].end_detail);
        CHECK(conns[i].end_cause == ends[i].first);
        CHECK(conns[i].close_code == ends[i].second);
        // The close that went out, on the tape as sent and as the server read it.
        std::vector<std::string> closes;
        for (const auto& m : sent) {
            if (m.connection_idx == conns[i].idx && m.kind == schema::MessageKind::close) {
                closes.push_back(m.bytes);
            }
        }
        CHECK(closes == std::vector<std::string>{codes[i]});
        std::lock_guard lock(mutex);
        REQUIRE(closes_received.size() > i);
        CHECK(closes_received[i] == codes[i]);
    }
    CHECK_THAT(conns[0].end_detail, Catch::Contains("utf8"));
    CHECK(conns[3].close_reason == "bye");
}
