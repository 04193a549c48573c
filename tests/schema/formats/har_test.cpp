// `import-har` and `export --format har`: a hand-written HAR shaped like Chrome's capture of the
// Mastodon web UI (token in Sec-WebSocket-Protocol), round trips, and refusals.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "schema/formats/har.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/test_support.hpp"

using mastotape::test::read_file;
using mastotape::test::run_mastotape;
using mastotape::test::TempDir;
using nlohmann::json;
using namespace mastotape::schema;

namespace {

constexpr const char* kHarToken = "Zx9vQm3L8kTt2pR7yB4nW6cE1aS5dF0gH2jK4lM6nP8";

std::string event_frame(const std::string& event, const std::string& id) {
    return json({{"stream", {"user"}}, {"event", event}, {"payload", id}}).dump();
}

// Chrome's DevTools export of the web UI: the page, an API call, then the streaming WebSocket.
json chrome_har() {
    const json headers = json::array(
        {{{"name", "Upgrade"}, {"value", "websocket"}},
         {{"name", "Sec-WebSocket-Protocol"}, {"value", kHarToken}},
         {{"name", "Set-Cookie"}, {"value", "_session_id=secret; path=/"}},
         {{"name", "Sec-WebSocket-Accept"}, {"value", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}});
    json ws = {
        {"startedDateTime", "2026-11-30T09:15:02.123456Z"},
        {"time", 41.5},
        {"_resourceType", "websocket"},
        {"request",
         {{"method", "GET"},
          {"url", std::string("wss://mastodon.example/api/v1/streaming?stream=user&access_token=") +
                      kHarToken},
          {"httpVersion", "HTTP/1.1"},
          {"headers", {{{"name", "Sec-WebSocket-Protocol"}, {"value", kHarToken}}}},
          {"queryString", json::array()},
          {"cookies", json::array()},
          {"headersSize", -1},
          {"bodySize", 0}}},
        {"response",
         {{"status", 101},
          {"statusText", "Switching Protocols"},
          {"httpVersion", "HTTP/1.1"},
          {"headers", headers},
          {"cookies", json::array()},
          {"content", {{"size", 0}, {"mimeType", "x-unknown"}}},
          {"redirectURL", ""},
          {"headersSize", -1},
          {"bodySize", -1}}},
        {"cache", json::object()},
        {"timings", {{"send", 0}, {"wait", 41.5}, {"receive", 0}}},
        {"_webSocketMessages",
         {{{"type", "send"},
           {"time", 1796030102.2},
           {"opcode", 1},
           {"data", R"({"type":"subscribe","stream":"hashtag","tag":"rust"})"}},
          {{"type", "receive"},
           {"time", 1796030103.5},
           {"opcode", 1},
           {"data", event_frame("update", "{\"id\":\"1\"}")}},
          {{"type", "receive"},
           {"time", 1796030104.25},
           {"opcode", 1},
           {"data", event_frame("delete", "1")}}}}};
    json page = {{"startedDateTime", "2026-11-30T09:15:01.000Z"},
                 {"time", 120},
                 {"request", {{"method", "GET"}, {"url", "https://mastodon.example/home"}}},
                 {"response",
                  {{"status", 200}, {"content", {{"mimeType", "text/html"}, {"text", "<html>"}}}}}};
    return {{"log",
             {{"version", "1.2"},
              {"creator", {{"name", "WebInspector"}, {"version", "537.36"}}},
              {"entries", {page, ws}}}}};
}

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("import-har reads Chrome's WebSocket entry of the web UI, without its token") {
    TempDir dir;
    write(dir.file("ui.har"), chrome_har().dump(2));
    const auto r = run_mastotape("import-har ui.har --db t.db", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("imported entry 1 of ui.har"));
    CHECK_THAT(r.err, Catch::Contains("Sec-WebSocket-Protocol was left out"));
    CHECK_THAT(r.err, Catch::Contains("access_token in the URL was left out"));

    TapeStore store(dir.file("t.db"), OpenMode::read);
    const Session s = store.session(1);
    CHECK(s.source == "wss://mastodon.example");
    CHECK(s.transport == Transport::websocket);
    REQUIRE(s.subscriptions.size() == 2);
    CHECK(s.subscriptions[0].spec() == "user");
    CHECK(s.subscriptions[1].spec() == "hashtag=rust");
    CHECK(s.started_wall_ns == 1'796'030'102'123'456'000);

    const auto connections = store.connections(1);
    REQUIRE(connections.size() == 1);
    CHECK(connections[0].url == "wss://mastodon.example/api/v1/streaming?stream=user");
    CHECK(connections[0].http_status == 101);
    CHECK(connections[0].subprotocol == "[token]");
    CHECK(connections[0].handshake_offset_ns == 41'500'000);
    CHECK(connections[0].end_cause == EndCause::local_stop);

    Frame f;
    auto cursor = store.frames_from_seq(1, 1);
    REQUIRE(cursor.next(f));
    CHECK(f.bytes == event_frame("update", "{\"id\":\"1\"}"));
    CHECK(f.columns.kind == FrameKind::event);
    CHECK(f.columns.event == "update");
    CHECK(f.offset_ns == 1'376'544'000);  // 09:15:03.500000 - 09:15:02.123456
    REQUIRE(cursor.next(f));
    CHECK(f.columns.event == "delete");
    CHECK(f.offset_ns == 2'126'544'000);
    CHECK_FALSE(cursor.next(f));
    const auto sent = store.client_messages(1);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].kind == schema::MessageKind::text);
    CHECK(sent[0].after_seq == 0);
    CHECK(sent[0].offset_ns == 76'544'000);

    // Nowhere in the tape, its export or the output: the token, the cookie.
    const auto exported = run_mastotape("export --db t.db", dir);
    const auto har = run_mastotape("export --db t.db --format har", dir);
    for (const std::string& text :
         {read_file(dir.file("t.db")), exported.out, har.out, r.out, r.err}) {
        CHECK(text.find(kHarToken) == std::string::npos);
        CHECK(text.find("_session_id=secret") == std::string::npos);
    }
}

TEST_CASE("import-har leaves out a token whose key is percent-encoded, as Mastodon decodes it") {
    // Before: `access%5Ftoken=` (which Mastodon reads as access_token) stayed in the tape, its
    // JSONL and its HAR export.
    for (const std::string key : {"access%5Ftoken", "%61ccess_token", "access%5ftoken"}) {
        INFO(key);
        TempDir dir;
        std::string har = chrome_har().dump(2);
        har.replace(har.find("access_token="), 12, key);
        write(dir.file("ui.har"), har);
        const auto r = run_mastotape("import-har ui.har --db t.db", dir);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.err, Catch::Contains("access_token in the URL was left out"));
        const auto exported = run_mastotape("export --db t.db", dir);
        const auto as_har = run_mastotape("export --db t.db --format har", dir);
        for (const std::string& text : {read_file(dir.file("t.db")), exported.out, as_har.out}) {
            CHECK(text.find(kHarToken) == std::string::npos);
        }
    }
    CHECK(without_access_token("/api/v1/streaming?access%5Ftoken=x&stream=user") ==
          "/api/v1/streaming?stream=user");
    CHECK(without_access_token("/a?access+token=x") == "/a?access+token=x");  // another key
    // A query alone, as the recorder stores a backfill page's (before, its token stayed).
    CHECK(without_access_token("min_id=1&access_token=x&limit=40") == "min_id=1&limit=40");
    CHECK(without_access_token("access_token=x") == "");
    CHECK(without_access_token("min_id=1&next=https://a/b") == "min_id=1&next=https://a/b");
    CHECK(without_access_token("/api/v1/timelines/home") == "/api/v1/timelines/home");
}

TEST_CASE("A session exported as HAR imports back, one connection an entry") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 120 --connection-ends close eof -q --db t.db", dir)
                .exit_code == 0);
    REQUIRE(run_mastotape("export --db t.db --format har -o s.har", dir).exit_code == 0);
    const json har = json::parse(read_file(dir.file("s.har")));
    // HAR 1.2's required fields, which Chrome's importer reads.
    CHECK(har["log"]["version"] == "1.2");
    CHECK(har["log"]["creator"]["name"] == "mastotape");
    for (const json& e : har["log"]["entries"]) {
        for (const char* key :
             {"startedDateTime", "time", "request", "response", "cache", "timings"}) {
            CHECK(e.contains(key));
        }
        for (const char* key : {"method", "url", "httpVersion", "cookies", "headers", "queryString",
                                "headersSize", "bodySize"}) {
            CHECK(e["request"].contains(key));
        }
        for (const char* key : {"status", "statusText", "httpVersion", "cookies", "headers",
                                "content", "redirectURL", "headersSize", "bodySize"}) {
            CHECK(e["response"].contains(key));
        }
    }

    TapeStore source(dir.file("t.db"), OpenMode::read);
    const auto connections = source.connections(1);
    std::size_t pages = 0;
    for (const json& e : har["log"]["entries"]) {
        pages += e.value("_resourceType", "") == "fetch";
    }
    // An entry a connection, then one a backfill page.
    REQUIRE(har["log"]["entries"].size() == connections.size() + pages);
    CHECK(pages >= source.gaps(1).size());
    std::vector<Frame> frames;
    Frame f;
    for (auto cursor = source.frames_from_seq(1, 1); cursor.next(f);) {
        frames.push_back(f);
    }
    const auto sent = source.client_messages(1);
    const std::int64_t start = source.session(1).started_wall_ns;
    int checked = 0;
    for (const Connection& c : connections) {
        if (!c.handshake_offset_ns) {
            continue;  // a failed attempt: an entry with its status and nothing else
        }
        const std::string entry = std::to_string(c.idx);
        const auto r = run_mastotape("import-har s.har --entry " + entry + " --db back.db", dir);
        REQUIRE(r.exit_code == 0);
        TapeStore back(dir.file("back.db"), OpenMode::read);
        const std::int64_t id = back.newest_session_id();
        const Connection got = back.connections(id).at(0);
        CHECK(got.url == c.url);
        // How it ended, from mastotape's own `_mastotapeEnd` (an eof leaves no close frame).
        CHECK(got.end_cause == c.end_cause);
        CHECK(got.end_detail == c.end_detail);
        CHECK(got.close_code == c.close_code);
        CHECK(got.close_reason == c.close_reason);
        CHECK(got.http_status == c.http_status);
        CHECK(got.response_headers_json == c.response_headers_json);
        const auto us = [&](std::int64_t offset) { return (start + offset) / 1000 * 1000; };
        // The entry's `time` (its length, to the microsecond) where no close frame marks the end.
        CHECK(std::abs(*got.ended_offset_ns - (us(*c.ended_offset_ns) - us(c.started_offset_ns))) <=
              1000);
        std::vector<Frame> expected;
        for (const Frame& fr : frames) {
            if (fr.connection_idx == c.idx) {
                expected.push_back(fr);
            }
        }
        std::size_t i = 0;
        for (auto cursor = back.frames_from_seq(id, 1); cursor.next(f); ++i) {
            REQUIRE(i < expected.size());
            CHECK(f.bytes == expected[i].bytes);
            CHECK(f.columns == expected[i].columns);
            // HAR holds wall-clock microseconds: the time comes back as the difference of the
            // frame's and the connection's, each cut to the microsecond.
            CHECK(f.offset_ns == us(expected[i].offset_ns) - us(c.started_offset_ns));
        }
        CHECK(i == expected.size());
        std::size_t n_sent = 0;
        for (const auto& m : sent) {
            n_sent += m.connection_idx == c.idx;
        }
        CHECK(back.client_messages(id).size() == n_sent);
        ++checked;
    }
    CHECK(checked == 3);
}

TEST_CASE("An SSE session goes to HAR as its body, and comes back with the same frames") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --transport sse --events 40 -q --db t.db", dir).exit_code == 0);
    REQUIRE(run_mastotape("export --db t.db --format har -o s.har", dir).exit_code == 0);
    // As a browser saves it: without mastotape's time for each event.
    json har = json::parse(read_file(dir.file("s.har")));
    for (json& e : har["log"]["entries"]) {
        e.erase("_mastotapeFrameTimes");
    }
    write(dir.file("s.har"), har.dump());
    const auto r = run_mastotape("import-har s.har --db back.db", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("no time for each SSE event"));
    TapeStore a(dir.file("t.db"), OpenMode::read);
    TapeStore b(dir.file("back.db"), OpenMode::read);
    CHECK(b.session(1).subscriptions == a.session(1).subscriptions);
    Frame fa, fb;
    auto ca = a.frames_from_seq(1, 1);
    auto cb = b.frames_from_seq(1, 1);
    std::int64_t n = 0;
    while (ca.next(fa)) {
        REQUIRE(cb.next(fb));
        CHECK(fb.bytes == fa.bytes);
        CHECK(fb.columns == fa.columns);
        ++n;
    }
    CHECK_FALSE(cb.next(fb));
    CHECK(n == a.counts(1).frames);
}

TEST_CASE(
    "A session exported as HAR comes back whole: connections, gaps, backfill, equal by diff") {
    // Issue 36, item 13: it came back as one session per connection (13 of its 40 events in
    // the first).
    for (const std::string transport : {"websocket", "sse"}) {
        DYNAMIC_SECTION(transport) {
            TempDir dir;
            REQUIRE(run_mastotape("synth --transport " + transport +
                                      " --events 120 --connection-ends close eof "
                                      "heartbeat-timeout --failed-attempts 2 -q --db t.db",
                                  dir)
                        .exit_code == 0);
            REQUIRE(run_mastotape("export --db t.db --format har -o s.har", dir).exit_code == 0);
            const auto r = run_mastotape("import-har s.har --db back.db", dir);
            REQUIRE(r.exit_code == 0);
            CHECK_THAT(r.out,
                       Catch::Contains("(10 connections, ") && Catch::Contains(", 3 gaps, "));
            CHECK_THAT(r.err, !Catch::Contains("no time for each SSE event"));
            // Failed attempts and their places too; frame times within HAR's microsecond.
            const auto d =
                run_mastotape("diff --strict-attempts --time-tolerance 0.002 t.db back.db", dir);
            CHECK(d.exit_code == 0);
            CHECK_THAT(d.out,
                       Catch::StartsWith("equal: 4 connections, ") && Catch::Contains(" 3 gaps, "));
            CHECK(run_mastotape("verify --db back.db", dir).exit_code == 0);
            TapeStore a(dir.file("t.db"), OpenMode::read);
            TapeStore b(dir.file("back.db"), OpenMode::read);
            const auto ga = a.gaps(1);
            const auto gb = b.gaps(1);
            REQUIRE(ga.size() == gb.size());
            for (std::size_t i = 0; i < ga.size(); ++i) {
                CHECK(gb[i].backfill_status == ga[i].backfill_status);
                CHECK(gb[i].backfilled == ga[i].backfilled);
                CHECK(gb[i].from_connection_idx == ga[i].from_connection_idx);
            }
            CHECK(b.backfill(1).size() == a.backfill(1).size());
            // --entry N still takes one entry alone.
            const auto one = run_mastotape("import-har s.har --entry 3 --db one.db", dir);
            REQUIRE(one.exit_code == 0);
            CHECK_THAT(one.out, Catch::StartsWith("imported entry 3 of s.har") &&
                                    Catch::Contains("(1 connections, "));
        }
    }
}

TEST_CASE(
    "A browser's HAR with a reconnect comes in as one session, its timeline fetch the gap's") {
    // What Chrome saves of the web UI across a dropped stream: the stream, the timeline it
    // fetched on coming back, the stream again; and another instance's stream, left out.
    json har = chrome_har();
    json& entries = har["log"]["entries"];
    json first = entries[1];
    json second = first;
    second["startedDateTime"] = "2026-11-30T09:15:10.000Z";
    second["_webSocketMessages"] = {{{"type", "receive"},
                                     {"time", 1796030111.0},
                                     {"opcode", 1},
                                     {"data", event_frame("update", "{\"id\":\"9\"}")}}};
    first["_webSocketMessages"].push_back(
        {{"type", "receive"}, {"time", 1796030105.0}, {"opcode", 8}, {"data", "A+k="}});  // 1001
    json fetch = {
        {"startedDateTime", "2026-11-30T09:15:10.050Z"},
        {"time", 30},
        {"request",
         {{"method", "GET"},
          {"url", "https://mastodon.example/api/v1/timelines/home?min_id=1&access_token=x"}}},
        {"response",
         {{"status", 200},
          {"content",
           {{"mimeType", "application/json"},
            {"text", R"([{"id":"3","content":"b"},{"id":"2","content":"a"}])"}}}}}};
    json elsewhere = first;
    elsewhere["request"]["url"] = "wss://other.example/api/v1/streaming?stream=public";
    entries = {entries[0], first, fetch, second, elsewhere};
    TempDir dir;
    write(dir.file("ui.har"), har.dump());
    const auto r = run_mastotape("import-har ui.har --db t.db", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("imported entries 1,3 of ui.har") &&
                          Catch::Contains("(2 connections, 3 frames, 1 client messages, 1 gaps, "
                                          "2 backfilled items)"));
    CHECK_THAT(r.err, Catch::Contains("1 streaming entries of another origin"));
    TapeStore t(dir.file("t.db"), OpenMode::read);
    const auto gaps = t.gaps(1);
    REQUIRE(gaps.size() == 1);
    CHECK(gaps[0].cause == EndCause::close);
    CHECK(gaps[0].backfill_status == BackfillStatus::ok);
    const auto items = t.backfill(1);
    REQUIRE(items.size() == 2);
    CHECK(items[0].object_id == "3");
    CHECK(items[0].body == R"({"id":"3","content":"b"})");
    CHECK(items[0].query == "min_id=1");  // the token left out
    CHECK(items[1].object_id == "2");
    CHECK(t.connections(1).at(1).handshake_offset_ns.value() > *gaps[0].end_offset_ns - 1);
}

TEST_CASE("import-har refuses what it cannot read, in one line, adding nothing") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 5 -q --db t.db", dir).exit_code == 0);
    json no_streams = chrome_har();
    no_streams["log"]["entries"].erase(1);
    write(dir.file("page.har"), no_streams.dump());
    write(dir.file("bad.har"), "{\"log\": 3}");
    write(dir.file("ui.har"), chrome_har().dump());
    // Before: accepted, then refused by verify and replay (UBSan: a signed overflow).
    const std::string whole = chrome_har().dump();
    write(dir.file("cut.har"), whole.substr(0, whole.size() / 2));
    write(dir.file("latin1.har"), "{\"log\": {\"entries\": [], \"x\": \"caf\xe9\"}}");
    json long_wait = chrome_har();
    long_wait["log"]["entries"][1]["timings"]["wait"] = 1e300;
    write(dir.file("wait.har"), long_wait.dump());
    json far_message = chrome_har();
    far_message["log"]["entries"][1]["_webSocketMessages"][1]["time"] = 1e300;
    write(dir.file("far.har"), far_message.dump());
    json backwards = chrome_har();  // a message before the handshake ended
    backwards["log"]["entries"][1]["startedDateTime"] = "2999-11-30T09:15:02.123Z";
    write(dir.file("future.har"), backwards.dump());
    const struct {
        const char* args;
        const char* says;
    } cases[] = {
        {"import-har page.har", "page.har: no streaming entries"},
        {"import-har bad.har", "bad.har: not a HAR file"},
        {"import-har ui.har --entry 0", "entry 0 is not a streaming entry (those are: 1)"},
        {"import-har missing.har", "missing.har: cannot read"},
        {"import-har cut.har", "cut.har: not a HAR file: the JSON ends too soon"},
        {"import-har latin1.har", "latin1.har: not a HAR file: not UTF-8 text (byte 33 of"},
        {"import-har wait.har", "the handshake's time, 1e+300 ms, is longer than a tape can hold"},
        {"import-har far.har", "is not a time in seconds since 1970"},
        {"import-har future.har", "entry 1"},
    };
    for (const auto& c : cases) {
        INFO(c.args);
        const auto r = run_mastotape(std::string(c.args) + " --db t.db", dir);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err, Catch::Contains(c.says));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    TapeStore store(dir.file("t.db"), OpenMode::read);
    CHECK(store.sessions().size() == 1);
}
