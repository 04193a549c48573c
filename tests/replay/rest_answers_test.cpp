// The REST timelines as a client meets them over HTTP: paged from the replay clock with
// Mastodon's Link headers, limits and rate limit, deletes and edits applied, each timeline
// holding its own stream's items.

#include "replay/replay_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <tuple>

#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

TEST_CASE(
    "The REST timelines answer from the replay clock with Mastodon's paging, Link headers "
    "and rate limit") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 10;
    so.rate = 1;
    so.event_mix = {"update"};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::virtual_clock;
    o.rate_limit = 7;
    const auto frames = tape_frames(o.tape);
    std::vector<std::string> ids;  // oldest first
    for (const auto& f : frames) {
        if (f.columns.kind == schema::FrameKind::event) {
            ids.push_back(*f.columns.object_id);
        }
    }
    REQUIRE(ids.size() == 10);
    RunningReplay replay(o);
    const auto port = replay.port();
    const auto page = [&](const std::string& query, std::string* link = nullptr) {
        const auto res = http_get(port, "/api/v1/timelines/home" + query);
        REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
        if (link != nullptr) {
            const auto at = res.find("\r\nLink: ");
            *link = at == std::string::npos ? ""
                                            : res.substr(at + 8, res.find("\r\n", at + 2) - at - 8);
        }
        std::vector<std::string> out;
        for (const auto& item : nlohmann::json::parse(res.substr(res.find("\r\n\r\n") + 4))) {
            out.push_back(item.at("id").get<std::string>());
        }
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(page("").empty());  // nothing has happened yet on the replay clock
    post_json(port, "/_mastotape/clock/run-to?seq=" + std::to_string(frames.back().seq));
    std::string link;
    CHECK(page("?limit=3", &link) == V{ids[9], ids[8], ids[7]});
    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/timelines/home";
    CHECK(link == "<" + base + "?limit=3&max_id=" + ids[7] + ">; rel=\"next\", <" + base +
                      "?limit=3&min_id=" + ids[9] + ">; rel=\"prev\"");
    CHECK(page("?limit=3&max_id=" + ids[7]) == V{ids[6], ids[5], ids[4]});
    CHECK(page("?since_id=" + ids[7]) == V{ids[9], ids[8]});
    CHECK(page("?min_id=" + ids[0] + "&limit=2") == V{ids[2], ids[1]});
    const auto res = http_get(port, "/api/v1/timelines/home");
    CHECK_THAT(res, Catch::Contains("X-RateLimit-Limit: 7\r\n"));
    CHECK_THAT(res, Catch::Contains("X-RateLimit-Remaining: 1\r\n"));
    CHECK_THAT(http_get(port, "/api/v1/timelines/home"),
               Catch::Contains("X-RateLimit-Remaining: 0\r\n"));
    const auto limited = http_get(port, "/api/v1/timelines/home");
    CHECK_THAT(limited, Catch::StartsWith("HTTP/1.1 429"));
    CHECK_THAT(limited, Catch::Contains("{\"error\":\"Too many requests\"}"));
}

TEST_CASE(
    "The REST timelines apply deletes and edits, and use Mastodon's default and maximum "
    "limits") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 300;
    so.subscriptions = {{"public", ""}};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    // What the public timeline holds at the end, worked out from the tape's events in order.
    std::map<std::string, std::string, bool (*)(const std::string&, const std::string&)> items(
        [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;
        });
    int deletes = 0;
    int edits = 0;
    for (const auto& f : tape_frames(o.tape)) {
        if (f.columns.kind != schema::FrameKind::event) {
            continue;
        }
        const auto envelope = nlohmann::json::parse(f.bytes);
        const std::string id = *f.columns.object_id;
        if (*f.columns.event == "delete") {
            deletes += static_cast<int>(items.erase(id));
        } else if (*f.columns.event == "status.update") {
            if (auto it = items.find(id); it != items.end()) {
                it->second = envelope.at("payload").get<std::string>();
                ++edits;
            }
        } else {
            items[id] = envelope.at("payload").get<std::string>();
        }
    }
    REQUIRE(deletes > 0);
    REQUIRE(edits > 0);
    REQUIRE(items.size() > 40);
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=public");  // plays the tape to its end
        ws.until_close();
    }
    const auto body_of = [&](const std::string& target) {
        const auto res = http_get(replay.port(), target);
        REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
        return res.substr(res.find("\r\n\r\n") + 4);
    };
    CHECK(nlohmann::json::parse(body_of("/api/v1/timelines/public")).size() == 20);  // default
    CHECK(nlohmann::json::parse(body_of("/api/v1/timelines/public?limit=1000")).size() ==
          40);  // at most twice the default
    // Newest first, each entity exactly as recorded, edits applied, deletes gone.
    std::string expected = "[";
    auto it = items.rbegin();
    for (int i = 0; i < 40; ++i, ++it) {
        expected += (i ? "," : "") + it->second;
    }
    CHECK(body_of("/api/v1/timelines/public?limit=40") == expected + "]");
}

TEST_CASE(
    "Each REST timeline holds its own stream's items: home, public local, tag, list, "
    "notifications, conversations") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 400;
    so.subscriptions = {
        {"user", ""}, {"public:local", ""}, {"hashtag", "rust"}, {"list", "7"}, {"direct", ""}};
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    o.clock = replay::ClockMode::max_speed;
    const auto frames = tape_frames(o.tape);
    // What a timeline holds at the end, worked out from the tape's events in order.
    const auto expected = [&](const std::set<std::string>& labels,
                              const std::set<std::string>& events, std::size_t limit) {
        const auto id_less = [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;
        };
        std::map<std::string, std::string, decltype(id_less)> items(id_less);
        for (const auto& f : frames) {
            if (f.columns.kind != schema::FrameKind::event || !labels.count(*f.columns.stream) ||
                !events.count(*f.columns.event)) {
                continue;
            }
            const auto payload = nlohmann::json::parse(f.bytes).at("payload").get<std::string>();
            const std::string& id = *f.columns.object_id;
            if (*f.columns.event == "delete") {
                items.erase(id);
            } else if (*f.columns.event == "status.update") {
                if (auto it = items.find(id); it != items.end()) {
                    it->second = payload;
                }
            } else {
                items[id] = payload;
            }
        }
        std::string body = "[";
        std::size_t n = 0;
        for (auto it = items.rbegin(); it != items.rend() && n < limit; ++it, ++n) {
            body += (n ? "," : "") + it->second;
        }
        return std::make_pair(n, body + "]");
    };
    RunningReplay replay(o);
    {
        RawWs ws(replay.port(), "stream=user");  // plays the tape to its end
        ws.until_close();
    }
    const std::set<std::string> statuses{"update", "status.update", "delete"};
    const std::vector<
        std::tuple<std::string, std::set<std::string>, std::set<std::string>, std::size_t>>
        timelines = {
            {"/api/v1/timelines/home", {R"(["user"])"}, statuses, 20},
            {"/api/v1/timelines/public?local=true", {R"(["public:local"])"}, statuses, 20},
            {"/api/v1/timelines/tag/rust", {R"(["hashtag","rust"])"}, statuses, 20},
            {"/api/v1/timelines/list/7", {R"(["list","7"])"}, statuses, 20},
            {"/api/v1/notifications", {R"(["user"])"}, {"notification"}, 40},
            {"/api/v1/conversations", {R"(["direct"])"}, {"conversation"}, 20},
        };
    for (const auto& [target, labels, events, limit] : timelines) {
        INFO(target);
        const auto [count, body] = expected(labels, events, limit);
        CHECK(count > 0);
        const auto res = http_get(replay.port(), target);
        REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
        CHECK(res.substr(res.find("\r\n\r\n") + 4) == body);
    }
}
