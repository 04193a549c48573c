#include "schema/mastodon/rest_endpoints.hpp"

#include <catch2/catch.hpp>
#include <tuple>

#include "schema/mastodon/streams.hpp"

using namespace mastotape::schema;

namespace {

Subscription sample_subscription(const StreamInfo& s) {
    return {std::string(s.name), s.param == StreamParam::none ? "" : "rust"};
}

}  // namespace

TEST_CASE("Each stream's items are on the lists of mastodon-streaming.md section 10") {
    using Row = std::tuple<Subscription, std::vector<RestEndpoint>>;
    const std::string notifications = "/api/v1/notifications";
    const std::string conversations = "/api/v1/conversations";
    const std::string pub = "/api/v1/timelines/public";
    const std::vector<Row> table{
        {{"user", ""},
         {{"/api/v1/timelines/home", "", "update"}, {notifications, "", "notification"}}},
        {{"user:notification", ""}, {{notifications, "", "notification"}}},
        {{"public", ""}, {{pub, "", "update"}}},
        {{"public:media", ""}, {{pub, "only_media=true", "update"}}},
        {{"public:local", ""}, {{pub, "local=true", "update"}}},
        {{"public:local:media", ""}, {{pub, "local=true&only_media=true", "update"}}},
        {{"public:remote", ""}, {{pub, "remote=true", "update"}}},
        {{"public:remote:media", ""}, {{pub, "remote=true&only_media=true", "update"}}},
        {{"hashtag", "rust"}, {{"/api/v1/timelines/tag/rust", "", "update"}}},
        {{"hashtag:local", "rust"}, {{"/api/v1/timelines/tag/rust", "local=true", "update"}}},
        {{"list", "7"}, {{"/api/v1/timelines/list/7", "", "update"}}},
        {{"direct", ""}, {{conversations, "", "conversation"}}},
        {{"nonsense", ""}, {}},
    };
    REQUIRE(table.size() == all_streams().size() + 1);
    for (const auto& [sub, lists] : table) {
        INFO(sub.stream);
        CHECK(rest_endpoints(sub) == lists);
    }
    // A set of subscriptions asks each list once.
    CHECK(rest_endpoints(std::vector<Subscription>{{"user", ""}, {"user:notification", ""}}) ==
          std::vector<RestEndpoint>{{"/api/v1/timelines/home", "", "update"},
                                    {notifications, "", "notification"}});
    CHECK(rest_endpoints(Subscription{"public:local", ""})[0].key() == pub + "?local=true");
}

TEST_CASE("An event's item is on its stream's list only when the stream carries it") {
    // Issue 37: a `conversation` on the user stream went to /api/v1/conversations.
    CHECK_FALSE(endpoint_of({"user", ""}, "conversation"));
    CHECK(endpoint_of({"direct", ""}, "conversation")->path == "/api/v1/conversations");
    CHECK_FALSE(endpoint_of({"public", ""}, "notification"));
    CHECK(endpoint_of({"user:notification", ""}, "notification")->path == "/api/v1/notifications");
    CHECK(endpoint_of({"hashtag:local", "rust"}, "update")->key() ==
          "/api/v1/timelines/tag/rust?local=true");
    for (const char* lost : {"delete", "status.update", "announcement", "notifications_merged"}) {
        INFO(lost);
        CHECK_FALSE(endpoint_of({"user", ""}, lost));
    }
    CHECK(endpoint_of_label(R"(["hashtag","rust"])", "update")->path ==
          "/api/v1/timelines/tag/rust");
    CHECK_FALSE(endpoint_of_label("not json", "update"));
}

TEST_CASE("A GET of each stream's list serves that stream's items back") {
    for (const auto& info : all_streams()) {
        const Subscription sub = sample_subscription(info);
        for (const auto& e : rest_endpoints(sub)) {
            INFO(sub.stream << " " << e.key());
            const auto listed = listed_items(e.path, e.query);
            REQUIRE(listed);
            CHECK(listed->event == e.event);
            if (e.event == "update") {
                // A status timeline's query picks one stream among those sharing it.
                CHECK(listed->sources == std::vector<Subscription>{sub});
            } else {
                CHECK(std::find(listed->sources.begin(), listed->sources.end(),
                                Subscription{sub.stream, ""}) != listed->sources.end());
            }
        }
    }
    // Mastodon's rules: local wins over remote, and a tag timeline ignores only_media.
    CHECK(listed_items("/api/v1/timelines/public", "local=true&remote=true")->sources ==
          std::vector<Subscription>{{"public:local", ""}});
    CHECK(listed_items("/api/v1/timelines/tag/rust", "only_media=true")->sources ==
          std::vector<Subscription>{{"hashtag", "rust"}});
    CHECK(listed_items("/api/v1/notifications", "")->default_limit == 40);
    CHECK(listed_items("/api/v1/timelines/public", "")->link_params ==
          std::vector<std::string_view>{"local", "remote", "limit", "only_media"});
    CHECK(listed_items("/api/v1/conversations", "")->link_params ==
          std::vector<std::string_view>{"limit"});
    for (const char* none : {"/api/v1/timelines/tag/", "/api/v1/timelines/unknown",
                             "/api/v1/statuses", "/api/v1/notificationsx", ""}) {
        INFO(none);
        CHECK_FALSE(listed_items(none, ""));
    }
}

TEST_CASE("The Link header gives the page a rel names, as Mastodon writes it") {
    const std::string mastodon =
        "<https://example.social/api/v1/timelines/home?max_id=10>; rel=\"next\", "
        "<https://example.social/api/v1/timelines/home?min_id=20>; rel=\"prev\"";
    CHECK(link_url(mastodon, "next") == "https://example.social/api/v1/timelines/home?max_id=10");
    CHECK(link_url(mastodon, "prev") == "https://example.social/api/v1/timelines/home?min_id=20");
    CHECK(link_url(mastodon, "last") == std::nullopt);
    CHECK(link_url("<https://a/b?min_id=1>; rel=\"prev\"", "prev") == "https://a/b?min_id=1");
    // A comma inside the URL is the URL's; a malformed header gives nothing.
    CHECK(link_url("<https://a/b?x=1,2>; rel=\"prev\"", "prev") == "https://a/b?x=1,2");
    for (const char* bad : {"", "garbage", "<https://a/b; rel=\"prev\"", "https://a/b; rel=prev"}) {
        INFO(bad);
        CHECK(link_url(bad, "prev") == std::nullopt);
    }
}
