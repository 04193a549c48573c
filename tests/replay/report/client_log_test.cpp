// The report's bookkeeping and its reading of a client's REST requests (issue 18): ids kept as
// integer ranges, the pattern of a client's attempts while away, the Links it followed, and why
// each missed item was missed.

#include <catch2/catch.hpp>

#include "replay/report/backfill_review.hpp"
#include "replay/report/client_log.hpp"

using namespace mastotape;
using namespace mastotape::replay;
using std::chrono::milliseconds;

TEST_CASE("Ids served over REST are kept as integers where they read back the same") {
    CHECK(numeric_id("109000000000000001") == 109000000000000001ULL);
    CHECK(numeric_id("18446744073709551615") == 18446744073709551615ULL);
    CHECK_FALSE(numeric_id("18446744073709551616"));  // too big: text
    CHECK_FALSE(numeric_id("007"));                   // would not read back the same
    CHECK_FALSE(numeric_id("-1"));
    CHECK_FALSE(numeric_id("9abc"));
    CHECK_FALSE(numeric_id(""));
    CHECK(numeric_id("0") == 0ULL);

    IdTimes times;
    times.served("5", 10);
    times.served("5", 7);    // the latest time stays
    times.served("AbC", 3);  // another server's flake id
    times.served("05", 4);
    CHECK(times.latest("5") == 10);
    CHECK(times.latest("AbC") == 3);
    CHECK(times.latest("05") == 4);
    CHECK_FALSE(times.latest("abc"));
    CHECK_FALSE(times.latest("6"));
}

TEST_CASE("A client's attempts while away: hammering, backing off, a steady delay, jitter") {
    const TimePoint drop{};
    const auto attempts = [&](std::initializer_list<int> at_ms) {
        Attempts a;
        a.start(drop);
        for (const int ms : at_ms) {
            a.add(drop + milliseconds(ms));
        }
        return a;
    };
    SECTION("Hammering: a delay of 20 ms") {
        std::initializer_list<int> at = {5, 25, 45, 65, 85, 105, 125, 145, 165, 185, 205};
        const Attempts a = attempts(at);
        CHECK(a.count() == 11);
        CHECK(a.first_delay() == milliseconds(5));
        CHECK(a.delays() == 10);
        CHECK(a.pattern() == "hammered: 11 attempts in 0.20 s");
    }
    SECTION("Backing off, doubling exactly: no jitter") {
        const Attempts a = attempts({0, 500, 1500, 3500, 7500});
        CHECK(a.grew() == 3);
        CHECK(a.spread() < 1e-9);
        CHECK(a.pattern() == "backed off: delays grew from 0.50 s to 4.00 s, no jitter");
    }
    SECTION("Backing off from a short delay is a backoff, not hammering") {
        const Attempts a = attempts({0, 100, 300, 700});
        CHECK(a.pattern() == "backed off: delays grew from 0.10 s to 0.40 s, no jitter");
    }
    SECTION("Two delays, the second doubled (masto.js: 1, 2, 4 s): a backoff, jitter unjudged") {
        // Before: "kept a delay of about 3.00 s, with jitter".
        const Attempts a = attempts({1000, 3000, 7000});
        CHECK(a.pattern() == "backed off: delays grew from 2.00 s to 4.00 s");
    }
    SECTION("Backing off with jitter") {
        const Attempts a = attempts({0, 400, 1500, 3100, 7600});
        CHECK(a.spread() > 0.05);
        CHECK(a.pattern() == "backed off: delays grew from 0.40 s to 4.50 s, with jitter");
    }
    SECTION("A steady delay, and one with jitter") {
        CHECK(attempts({1, 1001, 2001, 3001}).pattern() ==
              "kept a delay of about 1.00 s, no jitter");
        CHECK(attempts({1, 801, 2001, 2901}).pattern() ==
              "kept a delay of about 0.97 s, with jitter");
    }
    SECTION("Too few attempts for a pattern") {
        CHECK(attempts({100, 600}).pattern().empty());
        CHECK(attempts({}).count() == 0);
    }
}

namespace {

// A log of one connection that ended at tape time 1000, and REST requests as given.
ClientLog log_with(const std::vector<std::tuple<std::string, std::int64_t, std::vector<std::string>,
                                                std::int64_t>>& pages,
                   bool reconnected = true) {
    ClientLog log;
    log.keep_items(true);
    const TimePoint t0{};
    log.connection_started(t0, 0);
    log.connection_ended(t0 + milliseconds(100), 1000, ConnectionEnd::tape, "eof", {});
    for (const auto& [target, limit, ids, now] : pages) {
        log.rest_page(target, "update", limit, ids, now);
    }
    if (reconnected) {
        log.connection_started(t0 + milliseconds(900), 5000);
    }
    return log;
}

std::vector<std::string> ids_from(int newest, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(std::to_string(newest - i));
    }
    return out;
}

}  // namespace

TEST_CASE("The review follows the Links a client took and tells why each item was missed") {
    SECTION("since_id with a full page: the items between since_id and the page") {
        const auto log =
            log_with({{"/api/v1/timelines/home?since_id=100&limit=3", 3, ids_from(110, 3), 6000}});
        const auto reviews = review_requests(log.rest_requests());
        REQUIRE(reviews.size() == 1);
        CHECK(reviews[0].full);
        CHECK(reviews[0].since_id == "100");
        CHECK_FALSE(reviews[0].to_the_end);
        std::vector<MissedItem> missed;
        for (int id = 101; id <= 107; ++id) {
            missed.push_back(
                {{"update", std::to_string(id)}, 5500, 3000, "/api/v1/timelines/home"});
        }
        const auto findings = explain(log, reviews, missed);
        REQUIRE(findings.size() == 1);
        CHECK(findings[0].reason == "since_id page full");
        CHECK(findings[0].request == 0u);
        CHECK(findings[0].items.size() == 7);
        CHECK(findings[0].advice ==
              "the client asked `/api/v1/timelines/home?since_id=100&limit=3` and got a full "
              "page of 3; 7 items newer than 100 but older than the page were never asked for: "
              "use min_id and follow Link rel=\"prev\" until a page comes back short");
    }
    SECTION("min_id followed by Link rel=prev to a short page reaches the end") {
        const auto log =
            log_with({{"/api/v1/timelines/home?min_id=100&limit=3", 3, ids_from(103, 3), 6000},
                      {"/api/v1/timelines/home?limit=3&min_id=103", 3, ids_from(106, 3), 6000},
                      {"/api/v1/timelines/home?limit=3&min_id=106", 3, ids_from(107, 1), 6000}});
        const auto reviews = review_requests(log.rest_requests());
        REQUIRE(reviews.size() == 3);
        CHECK_FALSE(reviews[0].follows);
        CHECK(reviews[1].follows == 0u);
        CHECK(std::string(reviews[1].rel) == "prev");
        CHECK(reviews[2].follows == 1u);
        CHECK(reviews[0].followed_prev);
        CHECK_FALSE(reviews[0].followed_next);
        CHECK_FALSE(reviews[2].followed_prev);
        CHECK(reviews[0].to_the_end);
        CHECK_FALSE(reviews[2].full);
    }
    SECTION("min_id with a full page whose Link was not followed") {
        const auto log =
            log_with({{"/api/v1/timelines/home?min_id=100&limit=3", 3, ids_from(103, 3), 6000}});
        const auto reviews = review_requests(log.rest_requests());
        const auto findings =
            explain(log, reviews, {{{"update", "105"}, 5500, 3000, "/api/v1/timelines/home"}});
        REQUIRE(findings.size() == 1);
        CHECK(findings[0].reason == "min_id page full, Link rel=prev not followed");
    }
    SECTION("max_id paging that stopped at a full page") {
        const auto log =
            log_with({{"/api/v1/timelines/home?limit=3", 3, ids_from(110, 3), 6000},
                      {"/api/v1/timelines/home?limit=3&max_id=108", 3, ids_from(107, 3), 6000}});
        const auto reviews = review_requests(log.rest_requests());
        CHECK(std::string(reviews[1].rel) == "next");
        const auto findings =
            explain(log, reviews, {{{"update", "102"}, 5500, 3000, "/api/v1/timelines/home"}});
        REQUIRE(findings.size() == 1);
        CHECK(findings[0].reason == "page full, Link rel=next not followed");
        CHECK(findings[0].request == 1u);  // the chain's last page, whose Link was not taken
    }
    SECTION("A catch-up while away, before the item came: the window before the stream") {
        // Asked at tape time 1200 while away; the item happened at 3000 and was there from 5200.
        const auto log =
            log_with({{"/api/v1/timelines/home?since_id=100", 20, ids_from(101, 1), 1200}});
        const auto findings = explain(log, review_requests(log.rest_requests()),
                                      {{{"update", "105"}, 5200, 3000, "/api/v1/timelines/home"}});
        REQUIRE(findings.size() == 1);
        CHECK(findings[0].reason == "caught up before the stream was back");
        CHECK_THAT(findings[0].advice, Catch::Contains("before connection 2 began"));
    }
    SECTION("Never asked, a delete, and an edit") {
        const auto log = log_with({});
        const auto findings = explain(log, review_requests(log.rest_requests()),
                                      {{{"update", "105"}, 5200, 3000, "/api/v1/timelines/home"},
                                       {{"delete", "90"}, 3000, 3000, "/api/v1/timelines/home"},
                                       {{"update", "106"}, 5200, 3100, "/api/v1/timelines/home"}});
        REQUIRE(findings.size() == 2);
        CHECK(findings[0].reason == "never asked over REST");
        CHECK(findings[0].items == std::vector<std::size_t>{0, 2});
        CHECK_THAT(findings[0].advice, Catch::StartsWith("2 items the stream did not bring") &&
                                           Catch::Contains("ask /api/v1/timelines/home with "
                                                           "min_id"));
        CHECK(findings[1].reason == "a delete comes only on the stream");
    }
}

TEST_CASE("A log keeps nothing of the items unless asked, runs of frames, attempts") {
    ClientLog log;
    log.streamed(5);
    log.rest_page("/api/v1/timelines/home", "update", 20, {"5"}, 10);
    CHECK(log.streamed_runs().empty());
    CHECK(log.rest_requests().empty());
    CHECK_FALSE(log.served_over_rest({"update", "5"}));

    log.keep_items(true);
    const TimePoint t0{};
    log.attempt_refused(t0);
    log.connection_started(t0 + milliseconds(10), 0);
    for (std::int64_t seq = 1; seq <= 1000; ++seq) {
        log.streamed(seq);  // with heartbeats between: only event frames count
    }
    log.not_streamed();  // another stream's event
    log.streamed(1002);
    log.streamed(1003);
    log.rest_page("/api/v1/notifications", "notification", 40, {"6"}, 10);
    CHECK(log.served_over_rest({"notification", "6"}) == 10);
    CHECK_FALSE(log.served_over_rest({"update", "6"}));
    log.connection_ended(t0 + milliseconds(1000), 900, ConnectionEnd::fault, "", {});
    log.attempt_refused(t0 + milliseconds(1100));
    log.attempt_refused(t0 + milliseconds(1300));
    CHECK(log.pending_attempts().count() == 2);
    log.connection_started(t0 + milliseconds(1700), 900);
    log.streamed(1004);  // a new connection starts a new run, even right after the last
    using Runs = std::vector<std::pair<std::int64_t, std::int64_t>>;
    CHECK(log.streamed_runs() == Runs{{1, 1000}, {1002, 1003}, {1004, 1004}});

    REQUIRE(log.connections().size() == 2);
    CHECK(log.connections()[0].attempts.count() == 2);  // one refused, then the one that went in
    const Attempts& second = log.connections()[1].attempts;
    CHECK(second.count() == 3);
    CHECK(second.first_delay() == milliseconds(100));
    CHECK(second.min_delay() == milliseconds(200));
    CHECK(second.max_delay() == milliseconds(400));
    CHECK(log.pending_attempts().count() == 0);
}
