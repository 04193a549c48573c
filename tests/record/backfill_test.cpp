// Backfill on its own against a scripted REST server: each endpoint of a stream gets fetched,
// and a limit that leaves items behind is said.

#include "record/backfill.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "record/transport.hpp"
#include "tests/record/scripted_server.hpp"

using namespace mastotape;
using mastotape::test::ScriptedServer;

namespace {

// A JSON array of `n` statuses with ids from `first` down.
std::string statuses(int first, int n) {
    std::string body = "[";
    for (int i = 0; i < n; ++i) {
        body += (i ? "," : "") + std::string("{\"id\":\"") + std::to_string(first - i) + "\"}";
    }
    return body + "]";
}

std::string ok(const std::string& body, const std::string& prev) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" +
           (prev.empty() ? "" : "Link: <" + prev + ">; rel=\"prev\"\r\n") +
           "Connection: close\r\n\r\n" + body;
}

// One gap's backfill from `rest` for `subscriptions`, from the `newest` ids seen per endpoint,
// at most `limit` items each; what it fetched (endpoint and id, in order) and logged.
struct OneGap {
    schema::Gap gap;
    std::vector<std::pair<std::string, std::string>> items;
    std::vector<std::string> log;

    std::vector<std::string> ids() const {
        std::vector<std::string> out;
        for (const auto& item : items) {
            out.push_back(item.second);
        }
        return out;
    }
    int from(const std::string& endpoint) const {
        return static_cast<int>(std::count_if(
            items.begin(), items.end(), [&](const auto& item) { return item.first == endpoint; }));
    }
};

OneGap backfill_once(ScriptedServer& rest, std::vector<schema::Subscription> subscriptions,
                     const std::map<std::string, std::string>& newest, std::int64_t limit = 400) {
    boost::asio::io_context ioc;
    record::Transport transport("", std::chrono::seconds(5));
    record::SessionClock clock;
    record::BackfillSettings settings;
    settings.subscriptions = std::move(subscriptions);
    settings.rest_origin = *schema::parse_url("http://127.0.0.1:" + std::to_string(rest.port()));
    settings.token = "tok";
    settings.limit = limit;
    settings.retry_start_s = 0.01;
    OneGap out;
    record::Backfill backfill(
        transport, clock, ioc.get_executor(), settings,
        [&](std::vector<schema::BackfillItem> items) {
            for (const auto& item : items) {
                out.items.emplace_back(item.endpoint, item.object_id);
            }
        },
        [&](const std::string& line) { out.log.push_back(line); });
    auto done =
        boost::asio::co_spawn(ioc, backfill.run(schema::Gap{}, newest), boost::asio::use_future);
    ioc.run();
    out.gap = done.get();
    return out;
}

// The notifications from id 500 on.
OneGap notifications_backfill(ScriptedServer& rest) {
    return backfill_once(rest, {{"user:notification", ""}}, {{"/api/v1/notifications", "500"}});
}

}  // namespace

TEST_CASE("Each endpoint gets the whole backfill limit, and a limit that cut one short is said") {
    // Issue 16, item 8: in a storm of gaps the home timeline used the whole limit, the
    // notifications were never fetched, and each gap still said `ok`.
    ScriptedServer rest(std::vector<ScriptedServer::Script>(40, [](ScriptedServer& s, int fd) {
        const std::string head = s.read_request(fd);
        const std::string origin = "http://127.0.0.1:" + std::to_string(s.port());
        if (head.find("GET /api/v1/timelines/home") == 0) {
            // A timeline with no end: a full page and a link to more, every time.
            s.send(fd, ok(statuses(900000, 40), origin + "/api/v1/timelines/home?min_id=1"));
        } else if (head.find("min_id=500") != std::string::npos) {
            s.send(fd, ok(statuses(503, 3), origin + "/api/v1/notifications?min_id=503"));
        } else {
            s.send(fd, ok("[]", ""));
        }
    }));
    const OneGap r =
        backfill_once(rest, {{"user", ""}},
                      {{"/api/v1/timelines/home", "100"}, {"/api/v1/notifications", "500"}}, 50);
    CHECK(r.from("/api/v1/timelines/home") == 50);
    CHECK(r.from("/api/v1/notifications") == 3);
    CHECK(r.gap.backfilled == 53);
    CHECK(r.gap.backfill_status == schema::BackfillStatus::partial);
    CHECK(r.gap.backfill_error ==
          "/api/v1/timelines/home: stopped at --backfill-limit (50 items) with pages left");
}

namespace {

// A query parameter's value in a request head, or -1.
long long param(const std::string& head, const std::string& key) {
    const auto at = head.find(key + "=");
    return at == std::string::npos ? -1 : std::stoll(head.substr(at + key.size() + 1));
}

// A home timeline holding statuses 101 to `last`, answering min_id and limit as Mastodon does:
// the `limit` statuses right after min_id, newest first, and a prev link from the newest.
ScriptedServer::Script timeline_to(int last) {
    return [last](ScriptedServer& s, int fd) {
        const std::string head = s.read_request(fd);
        const auto min_id = static_cast<int>(param(head, "min_id"));
        const auto limit = static_cast<int>(param(head, "limit"));
        const int newest = std::min(last, min_id + limit);
        const std::string origin = "http://127.0.0.1:" + std::to_string(s.port());
        s.send(fd, ok(statuses(newest, newest - min_id),
                      newest > min_id
                          ? origin + "/api/v1/timelines/home?limit=" + std::to_string(limit) +
                                "&min_id=" + std::to_string(newest)
                          : ""));
    };
}

}  // namespace

TEST_CASE(
    "A limit keeps the items right after the gap's start and asks for no more than it keeps") {
    // Before, a page of 40 was asked for and its first items kept: with a limit of 50, statuses
    // 101-120 were left out in the middle of what was kept (Mastodon sends a page newest first).
    ScriptedServer rest(std::vector<ScriptedServer::Script>(10, timeline_to(300)));
    const OneGap cut =
        backfill_once(rest, {{"public", ""}}, {{"/api/v1/timelines/public", "100"}}, 50);
    const auto fetched = cut.ids();
    const std::set<std::string> ids(fetched.begin(), fetched.end());
    CHECK(ids.size() == 50);
    CHECK(*ids.begin() == "101");
    CHECK(*ids.rbegin() == "150");
    CHECK(cut.gap.backfill_status == schema::BackfillStatus::partial);
    CHECK(cut.gap.backfill_error ==
          "/api/v1/timelines/public: stopped at --backfill-limit (50 items) with pages left");

    // Exactly as many items as the limit: nothing was left, so the gap is whole.
    ScriptedServer exact(std::vector<ScriptedServer::Script>(10, timeline_to(150)));
    const OneGap whole =
        backfill_once(exact, {{"public", ""}}, {{"/api/v1/timelines/public", "100"}}, 50);
    CHECK(whole.ids().size() == 50);
    CHECK(whole.gap.backfill_status == schema::BackfillStatus::ok);
    CHECK(whole.gap.backfill_error.empty());
}

namespace {

std::string status_only(int status) {
    return "HTTP/1.1 " + std::to_string(status) +
           " Trouble\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("A backfill asks again after a 503, a 502, a 429 or no answer, and loses nothing") {
    // Before: the first 503 (a server restarting, which is when streams drop) failed the gap's
    // backfill, and what it held was lost.
    const std::vector<ScriptedServer::Script> scripts = {
        [](ScriptedServer& s, int fd) { s.read_request(fd), s.send(fd, status_only(503)); },
        [](ScriptedServer& s, int fd) { s.read_request(fd), s.send(fd, status_only(502)); },
        [](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd,
                   "HTTP/1.1 429 Too Many Requests\r\nX-RateLimit-Remaining: 0\r\n"
                   "X-RateLimit-Reset: 2000-01-01T00:00:00.000Z\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n\r\n");
        },
        [](ScriptedServer& s, int fd) { s.read_request(fd); },  // closed with no answer
        [](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd, ok(statuses(503, 3), "http://127.0.0.1:" + std::to_string(s.port()) +
                                                "/api/v1/notifications?min_id=503"));
        },
        [](ScriptedServer& s, int fd) { s.read_request(fd), s.send(fd, ok("[]", "")); },
    };
    ScriptedServer rest(scripts);
    const OneGap r = notifications_backfill(rest);
    CHECK(r.gap.backfill_status == schema::BackfillStatus::ok);
    CHECK(r.ids() == std::vector<std::string>{"503", "502", "501"});
    REQUIRE(r.log.size() == 4);
    CHECK(r.log[0] == "backfill /api/v1/notifications: HTTP 503; trying again in 1 s (1 of 5)");
    CHECK(r.log[1] == "backfill /api/v1/notifications: HTTP 502; trying again in 1 s (2 of 5)");
    CHECK(r.log[2] ==
          "backfill /api/v1/notifications: rate-limited (429); trying again in 0 s (3 of 5)");
    CHECK_THAT(r.log[3], Catch::StartsWith("backfill /api/v1/notifications: "));
    CHECK_THAT(r.log[3], Catch::EndsWith("(4 of 5)"));
}

TEST_CASE("A backfill that keeps failing gives up after five tries and says why") {
    ScriptedServer rest(std::vector<ScriptedServer::Script>(
        6, [](ScriptedServer& s, int fd) { s.read_request(fd), s.send(fd, status_only(503)); }));
    const OneGap r = notifications_backfill(rest);
    CHECK(r.items.empty());
    CHECK(r.log.size() == 5);
    CHECK(r.gap.backfill_status == schema::BackfillStatus::failed);
    CHECK(r.gap.backfill_error == "/api/v1/notifications: HTTP 503");
    // A refusal that cannot pass is not asked again.
    ScriptedServer refused(std::vector<ScriptedServer::Script>(
        1, [](ScriptedServer& s, int fd) { s.read_request(fd), s.send(fd, status_only(401)); }));
    const OneGap once = notifications_backfill(refused);
    CHECK(once.log.empty());
    CHECK(once.gap.backfill_error == "/api/v1/notifications: HTTP 401");
}
