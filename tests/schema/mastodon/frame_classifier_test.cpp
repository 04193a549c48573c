#include "schema/mastodon/frame_classifier.hpp"

#include <catch2/catch.hpp>

using namespace mastotape::schema;

namespace {
FrameColumns ws(const std::string& bytes) { return classify_text(Transport::websocket, bytes, ""); }
}  // namespace

TEST_CASE("An update envelope yields its event, stream label and status id") {
    const auto c = ws(
        R"({"stream":["user"],"event":"update","payload":"{\"id\":\"113\",\"content\":\"x\"}"})");
    CHECK(c.kind == FrameKind::event);
    CHECK(c.event == "update");
    CHECK(c.stream == R"(["user"])");
    CHECK(c.object_id == "113");
    CHECK(c.parse_ok);
}

TEST_CASE("A delete's payload is the bare id") {
    const auto c =
        ws(R"({"stream":["hashtag","Foo"],"event":"delete","payload":"113000000000000001"})");
    CHECK(c.event == "delete");
    CHECK(c.stream == R"(["hashtag","Foo"])");
    CHECK(c.object_id == "113000000000000001");
}

TEST_CASE("A numeric list id stays a number in the stream label") {
    const auto c = ws(R"({"stream":["list",12345],"event":"update","payload":"{\"id\":\"7\"}"})");
    CHECK(c.stream == R"(["list",12345])");
}

TEST_CASE("Payload-less ids: notifications_merged has none, announcement.delete has the id") {
    CHECK_FALSE(
        ws(R"({"stream":["user"],"event":"notifications_merged","payload":"1"})").object_id);
    CHECK(ws(R"({"stream":["user"],"event":"announcement.delete","payload":"4"})").object_id ==
          "4");
}

TEST_CASE("An announcement reaction is keyed by its announcement") {
    const auto c = ws(
        R"({"stream":["user"],"event":"announcement.reaction","payload":"{\"name\":\"🤔\",\"count\":1,\"announcement_id\":\"9\"}"})");
    CHECK(c.object_id == "9");
}

TEST_CASE("Error frames are told apart from events") {
    const auto c = ws(R"({"error":"Unknown stream type","status":400})");
    CHECK(c.kind == FrameKind::error);
    CHECK(c.parse_ok);
    CHECK_FALSE(c.event);
    CHECK(ws(R"({"error":"Error unsubscribing from channel"})").kind == FrameKind::error);
}

TEST_CASE("Text that is not an envelope is kept as text and marked unparsed") {
    for (const char* bytes :
         {"hello", "{\"stream\":[\"user\"]", "[1,2]", "{\"event\":\"update\"}", ""}) {
        const auto c = ws(bytes);
        CHECK(c.kind == FrameKind::text);
        CHECK_FALSE(c.parse_ok);
    }
}

TEST_CASE("An event whose entity payload does not parse is an event marked unparsed") {
    const auto c = ws(R"({"stream":["user"],"event":"update","payload":"{not json"})");
    CHECK(c.kind == FrameKind::event);
    CHECK(c.event == "update");
    CHECK_FALSE(c.parse_ok);
}

TEST_CASE("SSE blocks carry the request's stream label and comments are comments") {
    const auto c =
        classify_text(Transport::sse, "event: update\ndata: {\"id\":\"5\"}\n\n", R"(["public"])");
    CHECK(c.kind == FrameKind::event);
    CHECK(c.event == "update");
    CHECK(c.stream == R"(["public"])");
    CHECK(c.object_id == "5");
    CHECK(classify_text(Transport::sse, "event: delete\ndata: 77\n\n", "").object_id == "77");
    CHECK(classify_text(Transport::sse, ":)\n", "").kind == FrameKind::comment);
    CHECK(classify_text(Transport::sse, ":thump\n\n", "").kind == FrameKind::comment);
    const auto junk = classify_text(Transport::sse, "garbage\n\n", "");
    CHECK(junk.kind == FrameKind::text);
    CHECK_FALSE(junk.parse_ok);
}

TEST_CASE("Control frames keep their kind") {
    CHECK(expected_columns(Transport::websocket, FrameKind::ping, "", "").kind == FrameKind::ping);
    CHECK(expected_columns(Transport::websocket, FrameKind::binary, "\xff", "").kind ==
          FrameKind::binary);
    CHECK(is_text_kind(FrameKind::comment));
    CHECK_FALSE(is_text_kind(FrameKind::pong));
}

TEST_CASE("An event is written as Mastodon writes it and reads back the same") {
    // streaming/index.js: JSON.stringify({ stream, event, payload }), and SSE's
    // `event: ${event}\ndata: ${payload}\n\n`.
    const std::string payload = R"({"id":"7","content":"<p>\"hi\" \u00e9</p>"})";
    const std::string ws = ws_envelope(R"(["hashtag","rust"])", "update", payload);
    CHECK(ws == R"({"stream":["hashtag","rust"],"event":"update","payload":"{\"id\":\"7\",)"
                R"(\"content\":\"<p>\\\"hi\\\" \\u00e9</p>\"}"})");
    const FrameColumns w = classify_text(Transport::websocket, ws, "");
    CHECK(w.kind == FrameKind::event);
    CHECK(w.stream == R"(["hashtag","rust"])");
    CHECK(w.object_id == "7");
    CHECK(event_payload(Transport::websocket, ws) == payload);

    const std::string sse = sse_block("delete", "109");
    CHECK(sse == "event: delete\ndata: 109\n\n");
    const FrameColumns s = classify_text(Transport::sse, sse, R"(["user"])");
    CHECK(s.event == "delete");
    CHECK(s.object_id == "109");
    CHECK(event_payload(Transport::sse, sse) == "109");
}
