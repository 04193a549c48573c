// The pseudonyms of `redact` (issue 19), one rule at a time.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "schema/ops/redactor.hpp"

using namespace mastotape::schema;
using Json = nlohmann::json;

namespace {

Redactor frozen(Redactor::Options o, std::initializer_list<const char*> seen) {
    Redactor r(std::move(o));
    for (const char* s : seen) {
        r.observe(s);
    }
    r.freeze();
    return r;
}

Redactor::Options seeded(std::uint64_t seed) {
    Redactor::Options o;
    o.seed = seed;
    return o;
}

}  // namespace

TEST_CASE("Ids keep their length and their order, one offset per length") {
    Redactor r = frozen({}, {R"({"id":"117133384180826131","account":{"id":"109000000000000007"}})",
                             R"({"id":"34975862","status_ids":["117133384180826140"]})", "90"});
    const std::vector<std::string> ids = {"109000000000000007", "117133384180826131",
                                          "117133384180826140"};
    std::vector<std::string> mapped;
    for (const auto& id : ids) {
        mapped.push_back(r.id(id));
        CHECK(mapped.back().size() == id.size());
        CHECK(mapped.back() != id);
    }
    CHECK(mapped[0] < mapped[1]);
    CHECK(mapped[1] < mapped[2]);
    // The same offset for every id of a length: differences stay.
    CHECK(std::stoull(mapped[2]) - std::stoull(mapped[1]) == 9);
    CHECK(r.id("34975862").size() == 8);
    CHECK(r.id("90").size() == 2);
    // A bare id (a delete's payload) and ids in lists.
    CHECK(r.redact("117133384180826131") == mapped[1]);
    const Json j =
        Json::parse(*r.redact(R"({"id":"34975862","status_ids":["117133384180826140"]})"));
    CHECK(j["status_ids"][0] == mapped[2]);
}

TEST_CASE("Text keeps its shape, and emoji, custom emoji and entities stay") {
    Redactor r = frozen({}, {});
    const std::string text = "Hello World 42, ça va? 🦊 :blobcat: שלום";
    const std::string out = r.scrambled(text);
    CHECK(out != text);
    CHECK(out.find("Hello") == std::string::npos);
    CHECK(out.find("🦊 :blobcat: ") != std::string::npos);
    CHECK(out.find("שלום") == std::string::npos);
    CHECK(std::isupper(static_cast<unsigned char>(out[0])));
    CHECK(out.substr(5, 1) == " ");
    CHECK(std::isdigit(static_cast<unsigned char>(out[12])));
    CHECK(out.substr(14, 2) == ", ");
    CHECK(r.scrambled(text) == out);  // deterministic
    CHECK(Redactor(seeded(2)).scrambled(text) != out);

    const std::string html = r.html("<p>Tom &amp; Jerry<br />ok</p>");
    CHECK_THAT(html, Catch::StartsWith("<p>") && Catch::Contains(" &amp; ") &&
                         Catch::Contains("<br />") && Catch::EndsWith("</p>"));
    CHECK(html.find("Tom") == std::string::npos);
}

TEST_CASE("Accounts, mentions and URLs: one pseudonym per username and host") {
    Redactor::Options o;
    o.home_host = "home.example.org";
    Redactor r = frozen(o, {});
    const Json account = Json::parse(*r.redact(
        R"({"id":"1","username":"Alice","acct":"Alice@far.example.net","display_name":"Alice A",
            "url":"https://far.example.net/@Alice","avatar":"https://cdn.far.example.net/a/b.png"})"));
    const std::string name = account["username"];
    CHECK(name != "Alice");
    CHECK(account["acct"] == name + "@" + r.host("far.example.net"));
    CHECK(account["url"] == "https://" + r.host("far.example.net") + "/@" + name);
    CHECK(account["avatar"] == "https://" + r.host("cdn.far.example.net") + "/system/redacted.png");
    CHECK(r.host("home.example.org") == "instance-1.example");
    // The same person in a mention's HTML, in another case: the same pseudonym.
    const std::string html = r.html(
        R"(<a href="https://far.example.net/@alice" class="u-url mention">@<span>alice</span></a>)");
    CHECK(html == "<a href=\"https://" + r.host("far.example.net") + "/@" + name +
                      "\" class=\"u-url mention\">@<span>" + name + "</span></a>");
    // A local account: its host is the recorded instance's.
    const Json local = Json::parse(*r.redact(R"({"username":"bob","acct":"bob"})"));
    CHECK(local["acct"] == local["username"]);
    CHECK(r.url("https://home.example.org/@bob") ==
          "https://instance-1.example/@" + local["username"].get<std::string>());
    // Path words of Mastodon's routes stay; other words do not.
    CHECK_THAT(r.url("https://far.example.net/users/Alice/statuses/1"),
               Catch::Contains("/users/" + name + "/statuses/"));
    CHECK(r.url("https://blog.example/my-secret-post").find("secret") == std::string::npos);
}

TEST_CASE("What redact keeps when asked, and what it cannot parse") {
    Redactor::Options o;
    o.keep_fields = {"display_name"};
    o.keep_hosts = {"mastodon.social"};
    Redactor r = frozen(o, {});
    const Json a = Json::parse(*r.redact(
        R"({"username":"x","acct":"x@mastodon.social","display_name":"Kept Name","note":"gone"})"));
    CHECK(a["display_name"] == "Kept Name");
    CHECK(a["note"] != "gone");
    CHECK_THAT(a["acct"].get<std::string>(), Catch::EndsWith("@mastodon.social"));
    CHECK_FALSE(r.redact("not json {"));
    Redactor::Options later;
    later.shift_s = 86400 + 61;
    Redactor shifted = frozen(later, {});
    const Json s = Json::parse(*shifted.redact(
        R"({"created_at":"2026-08-21T23:59:30.542Z","last_status_at":"2026-08-21","x":"2026-08-21T00:00:00Z"})"));
    CHECK(s["created_at"] == "2026-08-23T00:00:31.542Z");
    CHECK(s["last_status_at"] == "2026-08-22");
    CHECK(s["x"] == "2026-08-21T00:00:00Z");  // only *_at fields
}
