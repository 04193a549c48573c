#include "record/stream_tracker.hpp"

#include <catch2/catch.hpp>

using mastotape::record::StreamTracker;
using namespace mastotape::schema;

namespace {

Frame event(const char* stream, const char* name, const char* id) {
    Frame f;
    f.columns.kind = FrameKind::event;
    if (stream != nullptr) {
        f.columns.stream = stream;
    }
    f.columns.event = name;
    f.columns.object_id = id;
    return f;
}

}  // namespace

TEST_CASE("The tracker keeps the newest id per timeline in Mastodon's order, not arrival order") {
    StreamTracker t("");
    t.note(event(R"(["user"])", "update", "1099"));
    t.note(event(R"(["user"])", "update", "110"));  // shorter: older, though it came later
    t.note(event(R"(["user"])", "notification", "7"));
    t.note(event(R"(["public:local"])", "update", "1200"));
    t.note(event(R"(["user"])", "delete", "99999"));  // a delete is no new item
    CHECK(t.newest().at("/api/v1/timelines/home") == "1099");
    CHECK(t.newest().at("/api/v1/notifications") == "7");
    CHECK(t.newest().at("/api/v1/timelines/public?local=true") == "1200");
    CHECK(t.newest().size() == 3);
    CHECK(t.streamed("110"));
    CHECK_FALSE(t.streamed("99999"));
}

TEST_CASE("An SSE session's unlabelled events count for its one stream") {
    StreamTracker t(R"(["hashtag","rust"])");
    t.note(event(nullptr, "update", "5"));
    CHECK(t.newest().at("/api/v1/timelines/tag/rust") == "5");
}

TEST_CASE("The tracker remembers a bounded number of recent ids") {
    StreamTracker t("", 3);
    for (const char* id : {"1", "2", "3", "4"}) {
        t.note(event(R"(["user"])", "update", id));
    }
    CHECK_FALSE(t.streamed("1"));
    CHECK(t.streamed("2"));
    CHECK(t.streamed("4"));
    Frame ping;
    ping.columns.kind = FrameKind::ping;
    t.note(ping);  // not an event: nothing changes
    CHECK(t.newest().at("/api/v1/timelines/home") == "4");
}

TEST_CASE("A conversation counts for the conversations only on a stream that carries them") {
    // Issue 37: the recorder sent every `conversation` event to /api/v1/conversations whatever
    // its stream, while the replayer's verdict checked the stream's flags.
    StreamTracker t("");
    t.note(event(R"(["user"])", "conversation", "40"));
    CHECK(t.newest().count("/api/v1/conversations") == 0);
    t.note(event(R"(["direct"])", "conversation", "41"));
    CHECK(t.newest().at("/api/v1/conversations") == "41");
}
