// The replayer's heads and chunks against what the real server writes (issue 17, items 6-10;
// mastodon-streaming.md section 17): header order compared exactly, the SSE body parsed chunk by
// chunk, and the connection an SSE error leaves open used again.

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// The status line and the fields of the head at the start of `wire`, in order.
std::pair<std::string, Fields> parse_head(const std::string& wire) {
    const auto end = wire.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    Fields fields;
    std::size_t at = wire.find("\r\n");
    const std::string status = wire.substr(0, at);
    while (at < end) {
        const auto next = wire.find("\r\n", at + 2);
        const std::string line = wire.substr(at + 2, next - at - 2);
        const auto colon = line.find(": ");
        REQUIRE(colon != std::string::npos);
        fields.emplace_back(line.substr(0, colon), line.substr(colon + 2));
        at = next;
    }
    return {status, fields};
}

std::vector<std::string> names(const Fields& fields) {
    std::vector<std::string> out;
    for (const auto& f : fields) {
        out.push_back(f.first);
    }
    return out;
}

std::string field(const Fields& fields, const std::string& name) {
    for (const auto& f : fields) {
        if (f.first == name) {
            return f.second;
        }
    }
    return "(none)";
}

std::string sse_request(const std::string& path, const std::string& extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

const std::vector<std::string> kMastodonSseHead = {
    "X-Powered-By", "X-Request-Id",  "Access-Control-Allow-Origin",
    "Content-Type", "Cache-Control", "Transfer-Encoding",
    "Date",         "Connection",    "Keep-Alive"};

}  // namespace

TEST_CASE("The 101 carries Upgrade, Connection, Sec-WebSocket-Accept in Mastodon's order") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=user");
        const auto [status, fields] = parse_head(ws.response());
        CHECK(status == "HTTP/1.1 101 Switching Protocols");
        // Before: Upgrade, Sec-WebSocket-Accept, Connection.
        CHECK(names(fields) == std::vector<std::string>{"Upgrade", "Connection",
                                                        "Sec-WebSocket-Accept", "X-Request-Id"});
        CHECK(field(fields, "Upgrade") == "websocket");
        CHECK(field(fields, "Connection") == "Upgrade");
        CHECK(field(fields, "Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
    RawWs ws(replay.port(), "stream=user", "Sec-WebSocket-Protocol: tok-123\r\n");
    const auto [status, fields] = parse_head(ws.response());
    CHECK(names(fields) == std::vector<std::string>{"Upgrade", "Connection", "Sec-WebSocket-Accept",
                                                    "Sec-WebSocket-Protocol", "X-Request-Id"});
    CHECK(field(fields, "Sec-WebSocket-Protocol") == "tok-123");
}

TEST_CASE("An SSE head is the recorded one, or Mastodon's for a WebSocket tape") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    SECTION("a WebSocket tape: Mastodon's head, in its order") {
        replay::ReplayOptions o;
        o.tape = make_tape(dir, so);
        o.clock = replay::ClockMode::virtual_clock;
        RunningReplay replay(o);
        RawConn sse(replay.port());
        sse.send(sse_request("/api/v1/streaming/user"));
        REQUIRE(sse.wait_for("\r\n\r\n"));
        const auto [status, fields] = parse_head(sse.data());
        CHECK(status == "HTTP/1.1 200 OK");
        CHECK(names(fields) == kMastodonSseHead);  // before: four of them, in another order
        CHECK(field(fields, "X-Powered-By") == "Express");
        CHECK(field(fields, "Content-Type") == "text/event-stream");
        CHECK(field(fields, "Cache-Control") == "private, no-store");
        CHECK(field(fields, "Transfer-Encoding") == "chunked");
        CHECK(field(fields, "Connection") == "keep-alive");
        CHECK(field(fields, "Keep-Alive") == "timeout=5");
        CHECK_THAT(field(fields, "Date"), Catch::EndsWith(" GMT"));
    }
    SECTION("an SSE tape: its recorded head, with a fresh X-Request-Id and Date") {
        so.transport = schema::Transport::sse;
        replay::ReplayOptions o;
        o.tape = make_tape(dir, so);
        o.clock = replay::ClockMode::virtual_clock;
        // A head as a proxy in front of the server might have made it: a header repeated, one
        // of its own, and a length and an encoding this replay's body cannot have.
        {
            SQLite::Database db(o.tape, SQLite::OPEN_READWRITE);
            db.exec(
                R"(UPDATE connections SET response_headers = '{"Server":"nginx","X-Request-Id":"0000","Content-Type":"text/event-stream","Set-Cookie":"a=1","Set-Cookie":"b=2","Content-Length":"99","Content-Encoding":"gzip","Date":"Fri, 21 Aug 2026 12:00:00 GMT","Transfer-Encoding":"chunked"}')");
        }
        RunningReplay replay(o);
        RawConn sse(replay.port());
        sse.send(sse_request("/api/v1/streaming/user"));
        REQUIRE(sse.wait_for("\r\n\r\n"));
        const auto [status, fields] = parse_head(sse.data());
        CHECK(names(fields) == std::vector<std::string>{"Server", "X-Request-Id", "Content-Type",
                                                        "Set-Cookie", "Set-Cookie", "Date",
                                                        "Transfer-Encoding"});
        CHECK(field(fields, "Server") == "nginx");
        CHECK(fields[3].second == "a=1");
        CHECK(fields[4].second == "b=2");
        CHECK(field(fields, "X-Request-Id") != "0000");
        CHECK(field(fields, "X-Request-Id").size() == 36);
        CHECK(field(fields, "Date") != "Fri, 21 Aug 2026 12:00:00 GMT");
    }
    SECTION("synth records Mastodon's head for an SSE tape") {
        so.transport = schema::Transport::sse;
        const auto path = make_tape(dir, so);
        schema::TapeStore tape(path, schema::OpenMode::read);
        const auto head =
            nlohmann::ordered_json::parse(tape.connections(1).front().response_headers_json);
        std::vector<std::string> recorded;
        for (auto it = head.begin(); it != head.end(); ++it) {
            recorded.push_back(it.key());
        }
        CHECK(recorded == kMastodonSseHead);
    }
}

TEST_CASE("Each SSE event goes out as two chunks, event then data, and each comment as one") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 4;
    so.rate = 0.5;
    so.event_mix = {"update", "delete"};
    for (const auto transport : {schema::Transport::websocket, schema::Transport::sse}) {
        INFO("tape recorded over " << (transport == schema::Transport::sse ? "SSE" : "WebSocket"));
        so.transport = transport;
        replay::ReplayOptions o;
        o.tape = make_tape(dir, so, transport == schema::Transport::sse ? "sse.db" : "ws.db");
        o.clock = replay::ClockMode::virtual_clock;
        o.synth_heartbeats = false;
        RunningReplay replay(o);
        RawConn sse(replay.port());
        sse.send(sse_request("/api/v1/streaming/user"));
        REQUIRE(sse.wait_for(":)"));
        post_json(replay.port(), "/_mastotape/clock/advance?ms=600000");
        sse.settle();
        const auto got = body_chunks(sse.data());
        std::vector<std::string> expected = {":)\n"};
        for (const auto& f : tape_frames(o.tape)) {
            if (f.columns.kind != schema::FrameKind::event) {
                continue;
            }
            const std::string event = *f.columns.event;
            const std::string data =
                transport == schema::Transport::sse
                    ? f.bytes.substr(f.bytes.find('\n') + 1)
                    : "data: " + nlohmann::json::parse(f.bytes)["payload"].get<std::string>() +
                          "\n\n";
            expected.push_back("event: " + event + "\n");  // before: one chunk with both
            expected.push_back(data);
        }
        CHECK(got == expected);
        // /status counts blocks, not chunks.
        const auto status = get_json(replay.port(), "/_mastotape/status");
        CHECK(status["clients"][0]["frames_sent"] == 1 + so.events);
    }
}

TEST_CASE("An SSE error is a chunked JSON body from Express, and the connection stays open") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 3;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    o.require_token = "tok-right";
    RunningReplay replay(o);
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {sse_request("/api/v1/streaming/user", "Authorization: Bearer tok-wrong\r\n"),
         "HTTP/1.1 401 Unauthorized", R"({"error":"Invalid access token"})"},
        {sse_request("/api/v1/streaming/user"), "HTTP/1.1 401 Unauthorized",
         R"({"error":"Missing access token"})"},
        {sse_request("/api/v1/streaming/hashtag", "Authorization: Bearer tok-right\r\n"),
         "HTTP/1.1 400 Bad Request", R"({"error":"Missing tag name parameter"})"},
        {sse_request("/api/v1/streaming/nonsense"), "HTTP/1.1 400 Bad Request",
         R"({"error":"Unknown channel requested"})"},
    };
    // One connection for all of them: each answer leaves it open, as Express's keep-alive does.
    RawConn conn(replay.port());
    for (const auto& [request, status_line, body] : cases) {
        INFO(status_line << " " << body);
        conn.data().clear();
        conn.send(request);
        REQUIRE(conn.wait_for("0\r\n\r\n"));
        const auto [status, fields] = parse_head(conn.data());
        CHECK(status == status_line);
        CHECK(names(fields) == std::vector<std::string>{"X-Powered-By", "X-Request-Id",
                                                        "Access-Control-Allow-Origin",
                                                        "Content-Type", "Date", "Connection",
                                                        "Keep-Alive", "Transfer-Encoding"});
        CHECK(field(fields, "Content-Type") == "application/json");
        CHECK(field(fields, "Transfer-Encoding") == "chunked");
        bool ended = false;
        const auto got = body_chunks(conn.data(), &ended);
        CHECK(got == std::vector<std::string>{body});
        CHECK(ended);
        CHECK_FALSE(conn.ended());  // before: closed after the 401 and the missing tag's 400
    }
    conn.data().clear();
    conn.send("GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(conn.wait_for("OK"));
    CHECK_THAT(conn.data(), Catch::StartsWith("HTTP/1.1 200"));
}

TEST_CASE("Health, HEAD, a CORS preflight and an unknown path get the real server's answers") {
    // Before: health had no Express head, HEAD got a body, a preflight got 404 and /foo the web
    // host's 404 where the streaming server says "Unknown channel requested".
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.clock = replay::ClockMode::virtual_clock;
    RunningReplay replay(o);
    RawConn conn(replay.port());

    conn.send("GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(conn.wait_for("0\r\n\r\n"));
    auto [status, fields] = parse_head(conn.data());
    CHECK(status == "HTTP/1.1 200 OK");
    CHECK(names(fields) == std::vector<std::string>{"X-Powered-By", "X-Request-Id",
                                                    "Access-Control-Allow-Origin", "Content-Type",
                                                    "Cache-Control", "Date", "Connection",
                                                    "Keep-Alive", "Transfer-Encoding"});
    CHECK(field(fields, "Content-Type") == "text/plain");
    CHECK(body_chunks(conn.data()) == std::vector<std::string>{"OK"});

    // HEAD: the same head and nothing after it, so the next answer starts right there.
    conn.data().clear();
    conn.send(
        "HEAD /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(conn.wait_for("0\r\n\r\n"));
    const auto head_end = conn.data().find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    CHECK(conn.data().compare(head_end + 4, 9, "HTTP/1.1 ") == 0);

    conn.data().clear();
    conn.send(
        "OPTIONS /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\n"
        "Origin: https://client.example\r\nAccess-Control-Request-Method: GET\r\n"
        "Access-Control-Request-Headers: authorization\r\n\r\n");
    REQUIRE(conn.wait_for("\r\n\r\n"));
    std::tie(status, fields) = parse_head(conn.data());
    CHECK(status == "HTTP/1.1 204 No Content");
    CHECK(field(fields, "Access-Control-Allow-Origin") == "*");
    CHECK(field(fields, "Access-Control-Allow-Methods") == "GET,HEAD,PUT,PATCH,POST,DELETE");
    CHECK(field(fields, "Access-Control-Allow-Headers") == "authorization");
    CHECK(field(fields, "Content-Length") == "0");

    conn.data().clear();
    conn.send("GET /foo HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(conn.wait_for("0\r\n\r\n"));
    CHECK_THAT(conn.data(), Catch::StartsWith("HTTP/1.1 400 Bad Request"));
    CHECK(body_chunks(conn.data()) ==
          std::vector<std::string>{R"({"error":"Unknown channel requested"})"});
    CHECK_FALSE(conn.ended());
}

TEST_CASE("An idle kept-alive connection is closed after Keep-Alive's 5 s, as Node does") {
    // After an SSE 401 the real server closes the idle connection about 5 s later; the replayer
    // kept it for 30 s.
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.require_token = "tok-right";
    RunningReplay replay(o);
    RawConn conn(replay.port());
    conn.send(sse_request("/api/v1/streaming/user", "Authorization: Bearer tok-wrong\r\n"));
    REQUIRE(conn.wait_for("0\r\n\r\n"));
    CHECK_THAT(conn.data(), Catch::StartsWith("HTTP/1.1 401"));
    CHECK_FALSE(conn.wait_end(3));  // open for a while, as announced
    CHECK(conn.wait_end(5));        // then closed (before: for 30 s)
}
