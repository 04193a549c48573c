// What a test sets around the tape for a bot and checks afterwards: its documents (JSON or YAML),
// request matching, stubs (first match wins, hits counted, reloaded, a bad reload keeping the old
// ones) and expectations judged on a journal against a synthesized tape of notifications.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "replay/harness.hpp"
#include "replay/request_match.hpp"
#include "replay/stubs.hpp"
#include "replay/user_document.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/replay/mention_tape.hpp"

namespace mastotape {
namespace {

using nlohmann::json;
using Json = nlohmann::ordered_json;
using replay::HttpCall;

constexpr std::int64_t kSecond = 1'000'000'000;

HttpCall request(std::string method, std::string path, std::string query = "",
                 std::string body = "",
                 std::string content_type = "application/x-www-form-urlencoded") {
    HttpCall c;
    c.method = std::move(method);
    c.path = std::move(path);
    c.query = std::move(query);
    c.body = std::move(body);
    c.content_type = std::move(content_type);
    return c;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "no error";
}

TEST_CASE("a user's document is JSON or YAML, with YAML's plain scalars typed", "[stubs]") {
    const Json yaml = replay::parse_user_document(
        "- status: 200\n  id: \"200\"\n  on: true\n  ratio: 1.5\n  none: ~\n  text: hello\n",
        "doc");
    REQUIRE(yaml.is_array());
    CHECK(yaml[0]["status"] == 200);
    CHECK(yaml[0]["id"] == "200");  // quoted: text
    CHECK(yaml[0]["on"] == true);
    CHECK(yaml[0]["ratio"] == 1.5);
    CHECK(yaml[0]["none"].is_null());
    CHECK(yaml[0]["text"] == "hello");
    CHECK(replay::parse_user_document(R"({"a": [1, "2"]})", "doc") ==
          Json::parse(R"({"a":[1,"2"]})"));
    CHECK(error_of([] {
              replay::parse_user_document("{\n\"a\": [1,\n}", "stubs.json");
          }).starts_with("stubs.json: line 3: not valid JSON"));
    CHECK(error_of([] {
              replay::parse_user_document("a: [1,\nb: 2\n  - c", "stubs.yaml");
          }).starts_with("stubs.yaml: line "));
    CHECK(error_of([] { replay::load_user_document("/nonexistent/stubs.yaml"); }) ==
          "/nonexistent/stubs.yaml: cannot read: No such file or directory");
}

TEST_CASE("a request matcher reads parameters as Mastodon does", "[stubs]") {
    const auto m =
        replay::RequestMatcher::parse(Json::parse(R"({"method": "post", "path": "/api/v1/statuses",
                        "params": {"in_reply_to_id": "{status.id}", "spoiler_text": {"absent": true},
                                   "visibility": {"matches": "unlisted|public"}}})"),
                                      "x");
    const Json item = Json::parse(R"({"status": {"id": "42"}})");
    // A form body, a JSON body (a number is its text), and the query.
    CHECK(m.matches(
        request("POST", "/api/v1/statuses", "", "in_reply_to_id=42&visibility=unlisted"), &item));
    CHECK(
        m.matches(request("POST", "/api/v1/statuses", "",
                          R"({"in_reply_to_id": 42, "visibility": "public"})", "application/json"),
                  &item));
    CHECK(m.matches(request("POST", "/api/v1/statuses", "in_reply_to_id=42&visibility=public"),
                    &item));
    CHECK_FALSE(m.matches(
        request("POST", "/api/v1/statuses", "", "in_reply_to_id=43&visibility=public"), &item));
    CHECK_FALSE(m.matches(
        request("POST", "/api/v1/statuses", "", "in_reply_to_id=42&visibility=direct"), &item));
    CHECK_FALSE(m.matches(request("POST", "/api/v1/statuses", "",
                                  "in_reply_to_id=42&visibility=public&spoiler_text=cw"),
                          &item));
    CHECK_FALSE(m.matches(request("GET", "/api/v1/statuses", "in_reply_to_id=42&visibility=public"),
                          &item));
    CHECK(m.describe(&item) ==
          "POST /api/v1/statuses with in_reply_to_id=42, no spoiler_text, "
          "visibility~unlisted|public");

    const auto pattern = replay::RequestMatcher::parse(
        Json::parse(R"({"path_pattern": "^/api/v1/accounts/[0-9]+/follow$", "body_contains": "x",
                        "query": {"limit": "5"}})"),
        "y");
    CHECK(pattern.matches(request("POST", "/api/v1/accounts/12/follow", "limit=5", "axb")));
    CHECK_FALSE(pattern.matches(request("POST", "/api/v1/accounts/12/follow/x", "limit=5", "axb")));
    CHECK_FALSE(pattern.matches(request("POST", "/api/v1/accounts/12/follow", "limit=6", "axb")));
    CHECK_FALSE(pattern.matches(request("POST", "/api/v1/accounts/12/follow", "limit=5", "b")));
    CHECK(replay::RequestMatcher().matches(request("DELETE", "/anything")));

    CHECK(error_of([] { replay::RequestMatcher::parse(Json::parse(R"({"pathh": "/"})"), "s"); }) ==
          "s.pathh: unknown key (a request has method, path, path_pattern, query, params, "
          "body_contains, body_matches)");
    CHECK(error_of([] {
              replay::RequestMatcher::parse(Json::parse(R"({"path_pattern": "(["})"), "s");
          }).starts_with("s.path_pattern: not a valid regular expression"));
}

TEST_CASE("stubs answer in file order, count their hits and are reloaded whole or not at all",
          "[stubs]") {
    test::TempDir dir;
    const std::string file = (dir.path() / "stubs.yaml").string();
    test::write_file(file,
                     "- name: lists\n"
                     "  request: {method: GET, path: /api/v1/lists}\n"
                     "  response: {json: [{id: \"7\"}], headers: {X-Stub: yes}}\n"
                     "- request: {path_pattern: \"^/api/v1/lists\"}\n"
                     "  response: {status: 503, body: '{\"error\":\"down\"}', delay_ms: 5}\n");
    replay::Harness h(file, "");
    auto first = h.stub(request("GET", "/api/v1/lists"));
    REQUIRE(first);
    CHECK(first->name == "lists");
    CHECK(first->status == 200);
    CHECK(first->body == R"([{"id":"7"}])");
    CHECK(first->headers == std::vector<std::pair<std::string, std::string>>{{"X-Stub", "yes"}});
    auto second = h.stub(request("POST", "/api/v1/lists"));
    REQUIRE(second);
    CHECK(second->name == "stub 2");
    CHECK(second->status == 503);
    CHECK(second->delay_ms == 5);
    CHECK_FALSE(h.stub(request("GET", "/api/v1/filters")));
    auto listed = json::parse(h.control("/_mastotape/stubs", "", "")->body);
    CHECK(listed["stubs"][0]["hits"] == 1);
    CHECK(listed["stubs"][1]["request"] == "a request to ~^/api/v1/lists");

    // A reload with a body replaces them; a bad one is refused and changes nothing.
    auto bad = h.control("/_mastotape/stubs", "reload=1", "[{\"response\": {\"status\": 99}}]");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(json::parse(bad->body)["error"] ==
          "the stubs posted: stub 1: response.status: expected an HTTP status, 100 to 599");
    CHECK(h.stub(request("GET", "/api/v1/lists")));
    CHECK(h.control("/_mastotape/stubs", "reload=1", R"({"stubs": [{"request": {"path": "/x"}}]})")
              ->status == 200);
    CHECK_FALSE(h.stub(request("GET", "/api/v1/lists")));
    CHECK(h.stub(request("GET", "/x"))->status == 200);
    // An empty body reads the file again.
    CHECK(h.control("/_mastotape/stubs", "reload=1", "")->status == 200);
    CHECK(h.stub(request("GET", "/api/v1/lists"))->name == "lists");
    replay::Harness none("", "");
    CHECK(none.control("/_mastotape/stubs", "reload=1", "")->status == 400);
}

using test::MentionTape;

replay::JournalEntry reply(const std::string& to, std::int64_t at) {
    replay::JournalEntry e;
    e.client = "client 1";
    e.at_ns = at;
    e.method = "POST";
    e.path = "/api/v1/statuses";
    e.body = "status=thanks&in_reply_to_id=" + to;
    e.content_type = "application/x-www-form-urlencoded";
    e.status = 200;
    return e;
}

std::vector<replay::ExpectationResult> judged(MentionTape& t, const std::string& doc,
                                              const replay::RequestJournal& journal,
                                              const std::vector<replay::ClientView>& clients = {}) {
    const auto x = replay::parse_expectations(replay::parse_user_document(doc, "e"), "e");
    return replay::judge_expectations(x, journal.entries(), t.store, t.session, clients);
}

TEST_CASE("expectations name the tape items and requests that fail them", "[expect]") {
    MentionTape t;
    const std::string every =
        "- name: every mention\n"
        "  for_each: {event: notification, type: mention}\n"
        "  request: {method: POST, path: /api/v1/statuses, params: {in_reply_to_id: "
        "\"{status.id}\"}}\n";
    replay::RequestJournal journal;
    for (std::size_t i = 1; i < t.mentions.size(); ++i) {  // all but the first
        journal.add(reply(t.mentions[i].status_id, t.mentions[i].offset_ns + kSecond), "");
    }
    auto r = judged(t, every, journal);
    REQUIRE(r.size() == 1);
    CHECK(r[0].name == "every mention");
    CHECK_FALSE(r[0].met);
    CHECK(r[0].checked == static_cast<std::int64_t>(t.mentions.size()));
    REQUIRE(r[0].unmet.size() == 1);
    CHECK_THAT(r[0].unmet[0], Catch::Contains("no POST /api/v1/statuses with in_reply_to_id=" +
                                              t.mentions[0].status_id) &&
                                  Catch::EndsWith("; no client was connected"));

    journal.add(reply(t.mentions[0].status_id, t.mentions[0].offset_ns + 3 * kSecond), "");
    CHECK(judged(t, every, journal)[0].met);
    // A bot whose stream never came back after the mentions (it polled REST): answered is met.
    replay::ClientView gone;
    gone.name = "client 1";
    gone.log.connection_started(replay::SteadyClock::now(), 0);
    gone.log.connection_ended(replay::SteadyClock::now(), 1, replay::ConnectionEnd::fault, "", {});
    CHECK(judged(t, every, journal, {gone})[0].met);
    // Within 2 s: the reply 3 s after is late, and said so.
    r = judged(t, every + "  within_s: 2\n", journal);
    REQUIRE(r[0].unmet.size() == 1);
    CHECK_THAT(r[0].unmet[0], Catch::Contains("3.000 s after it could be known"));

    // Where the bot was: away between its connections, the item is known when it came back.
    replay::ClientView bot;
    bot.name = "client 1";
    const auto now = replay::SteadyClock::now();
    bot.log.connection_started(now, 0);
    bot.log.connection_ended(now, t.mentions[0].offset_ns - 1, replay::ConnectionEnd::fault, "",
                             {});
    bot.log.attempt_refused(now);
    bot.log.attempt_refused(now);
    bot.log.connection_started(now, t.mentions[0].offset_ns + 2 * kSecond);
    r = judged(t, every + "  within_s: 1.5\n", journal, {bot});
    CHECK(r[0].met);  // 3 s after the mention, 1 s after the bot was back
    // Within 0.5 s: the first mention's reply is late by its measure too.
    r = judged(t, every + "  within_s: 0.5\n", journal, {bot});
    REQUIRE_FALSE(r[0].unmet.empty());
    CHECK_THAT(r[0].unmet[0],
               Catch::StartsWith("notification ") &&
                   Catch::Contains("answered at " +
                                   std::to_string(t.mentions[0].offset_ns / kSecond + 3)) &&
                   Catch::Contains("1.000 s after it could be known") &&
                   Catch::EndsWith("client 1 while away between connections 0 and 1 (backing "
                                   "off: 3 attempts)"));
}

TEST_CASE("never, at most and at least count the journal's requests", "[expect]") {
    MentionTape t;
    replay::RequestJournal journal;
    for (int i = 0; i < 5; ++i) {
        auto e = reply("1", i * kSecond);
        if (i == 3) {
            e.body = "status=hello";
        }
        journal.add(e, "");
    }
    const auto r = judged(t,
                          "- never: {method: POST, params: {in_reply_to_id: {absent: true}}}\n"
                          "- {request: {path: /api/v1/statuses}, at_most: 2, per_s: 2}\n"
                          "- {request: {path: /api/v1/statuses}, at_most: 5}\n"
                          "- {request: {method: GET}, at_least: 1}\n",
                          journal);
    REQUIRE(r.size() == 4);
    REQUIRE(r[0].unmet.size() == 1);
    CHECK_THAT(r[0].unmet[0],
               Catch::StartsWith("client 1 at 3.000 s: POST /api/v1/statuses -> 200"));
    CHECK(r[0].name == "never POST with no in_reply_to_id");
    // 0 1 2 3 4 s, at most 2 in any 2 s: none (a window holds 2).
    CHECK(r[1].met);
    CHECK(r[2].met);
    REQUIRE(r[3].unmet.size() == 1);
    CHECK(r[3].unmet[0] == "0 such requests, of at least 1");
    const auto tight =
        judged(t, "- {request: {path: /api/v1/statuses}, at_most: 2, per_s: 2.5}\n", journal);
    REQUIRE(tight[0].unmet.size() == 1);
    CHECK(tight[0].unmet[0] == "3 such requests between 0.000 s and 2.000 s (at most 2)");

    CHECK(error_of([&] { judged(t, "- {at_most: 2}\n", journal); }) ==
          "e: expectation 1: expected a request to look for");
    CHECK(error_of([&] { judged(t, "- {never: {path: /x}, at_least: 1}\n", journal); }) ==
          "e: expectation 1: expected one of for_each, never, at_most, at_least");
    CHECK(error_of([&] { judged(t, "- {request: {}, at_least: 1, within_s: 2}\n", journal); }) ==
          "e: expectation 1.within_s: only for_each takes within_s");
}

TEST_CASE("the journal never keeps a token, and the expectations route adds and clears",
          "[expect]") {
    replay::Harness h("", "");
    replay::JournalEntry e = reply("1", 0);
    e.query = "access_token=sekrit&x=1";
    e.body = "status=sekrit%20here";
    h.journal().add(e, "sekrit");
    CHECK(h.control("/_mastotape/requests", "", "")->body.find("sekrit") == std::string::npos);
    CHECK(h.journal().lines() == "client 1 at 0.000 s: POST /api/v1/statuses?x=1 -> 200\n");
    CHECK(h.control("/_mastotape/expectations", "add=1", "[{never: {path: /x}}]")->status == 200);
    CHECK(h.expectations().size() == 1);
    auto bad = h.control("/_mastotape/expectations", "add=1", "[{nevr: {path: /x}}]");
    CHECK(bad->status == 400);
    CHECK(h.expectations().size() == 1);
    CHECK_FALSE(h.control("/_mastotape/expectations", "", ""));  // judged by the server
    CHECK(h.control("/_mastotape/expectations", "clear=1", "")->status == 200);
    CHECK(h.expectations().empty());
}

TEST_CASE("a full journal counts what it no longer keeps, and no judgement is said met",
          "[expect]") {
    MentionTape t;
    replay::RequestJournal journal(2);
    for (int i = 0; i < 5; ++i) {
        journal.add(reply("1", i * kSecond), "");
    }
    CHECK(journal.entries().size() == 2);
    CHECK(journal.dropped() == 3);
    CHECK(json::parse(journal.json())["dropped"] == 3);
    const auto x = replay::parse_expectations(
        replay::parse_user_document("- {request: {path: /api/v1/statuses}, at_least: 1}", "e"),
        "e");
    const auto v = replay::judge(x, journal, t.store, t.session, {}, true);
    REQUIRE(v.unmet.size() == 1);
    CHECK(v.unmet[0] ==
          "the journal kept the first 2 requests; 3 more were not judged, so no expectation can "
          "be said met");
}

}  // namespace
}  // namespace mastotape
