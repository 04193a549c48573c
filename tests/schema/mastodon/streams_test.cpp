#include "schema/mastodon/streams.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace mastotape::schema;

namespace {

Subscription with_param(const StreamInfo& s) {
    return {std::string(s.name), s.param == StreamParam::none ? "" : "rust"};
}

}  // namespace

TEST_CASE("The table holds each of Mastodon's twelve streams once") {
    std::set<std::string_view> names;
    for (const auto& s : all_streams()) {
        CHECK(names.insert(s.name).second);
        CHECK_FALSE(s.events.empty());
        CHECK(find_stream(s.name) == &s);
    }
    CHECK(names.size() == 12);
    CHECK(find_stream("public:nope") == nullptr);
    CHECK(events_of_stream("public:nope").empty());
}

TEST_CASE("Every stream's SSE target leads back to the same subscription") {
    for (const auto& s : all_streams()) {
        const Subscription sub = with_param(s);
        const std::string target = sse_target(sub);
        const auto q = target.find('?');
        const std::string path = target.substr(0, q);
        const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
        std::optional<std::string_view> only_media;
        std::optional<std::string_view> tag;
        std::optional<std::string_view> list;
        if (query == "only_media=true") {
            only_media = "true";
        } else if (query == "tag=rust") {
            tag = "rust";
        } else if (query == "list=rust") {
            list = "rust";
        } else {
            CHECK(query.empty());
        }
        INFO(target);
        const auto back = subscription_of_sse_path(path, only_media, tag, list);
        REQUIRE(back.has_value());
        CHECK(*back == sub);
    }
    CHECK(sse_target({"public:remote:media", ""}) ==
          "/api/v1/streaming/public/remote?only_media=true");
    CHECK(sse_target({"hashtag:local", "cats"}) == "/api/v1/streaming/hashtag/local?tag=cats");
    CHECK_FALSE(subscription_of_sse_path("/api/v1/streaming/public/", {}, {}, {}).has_value());
}

TEST_CASE("only_media is truthy unless it is missing or one of Mastodon's false words") {
    CHECK_FALSE(query_truthy(std::nullopt));
    for (const char* no : {"false", "0", "f", "F", "FALSE", "off", "OFF"}) {
        CHECK_FALSE(query_truthy(std::string_view(no)));
    }
    CHECK(query_truthy(std::string_view("")));
    CHECK(query_truthy(std::string_view("1")));
    CHECK(query_truthy(std::string_view("no")));
    CHECK(subscription_of_sse_path("/api/v1/streaming/public", std::string_view("1"), {}, {})
              ->stream == "public:media");
    CHECK(subscription_of_sse_path("/api/v1/streaming/public", std::string_view("off"), {}, {})
              ->stream == "public");
}

TEST_CASE("A subscription's WebSocket query and subscribe message carry its parameter by name") {
    CHECK(websocket_query({"user", ""}) == "stream=user");
    CHECK(websocket_query({"hashtag", "rust"}) == "stream=hashtag&tag=rust");
    CHECK(websocket_query({"list", "12"}) == "stream=list&list=12");
    CHECK(subscribe_message({"list", "12"}) ==
          R"({"type":"subscribe","stream":"list","list":"12"})");
    CHECK(subscribe_message({"hashtag:local", "caf\xc3\xa9"}) ==
          "{\"type\":\"subscribe\",\"stream\":\"hashtag:local\",\"tag\":\"caf\xc3\xa9\"}");
    CHECK(subscribe_message({"direct", ""}) == R"({"type":"subscribe","stream":"direct"})");
}

TEST_CASE("Each stream's statuses have their timeline and flags, notifications and DMs theirs") {
    CHECK(status_timeline({"user", ""}) == "/api/v1/timelines/home");
    CHECK(status_timeline({"hashtag:local", "rust"}) == "/api/v1/timelines/tag/rust");
    CHECK(status_timeline({"list", "7"}) == "/api/v1/timelines/list/7");
    CHECK(status_timeline({"direct", ""}).empty());
    CHECK(status_timeline({"user:notification", ""}).empty());
    CHECK(timeline_flags({"public:remote:media", ""}) == "remote=true&only_media=true");
    CHECK(timeline_flags({"hashtag:local", "x"}) == "local=true");
    CHECK(timeline_flags({"public", ""}).empty());
    CHECK(find_stream("user")->notifications);
    CHECK(find_stream("user:notification")->notifications);
    CHECK_FALSE(find_stream("public")->notifications);
    CHECK(find_stream("direct")->conversations);
    CHECK(stream_carries("user", "announcement"));
    CHECK_FALSE(stream_carries("public", "notification"));
    CHECK(stream_carries("user:notification", "status.update"));
}
