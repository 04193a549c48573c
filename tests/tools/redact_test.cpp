// `mastotape redact` (issue 19): a session safe to publish. Hand-made statuses with known names,
// hosts and texts (non-ASCII, emoji, right-to-left, an @user@host mention in the HTML) among a
// synthesized session's; after redact, none of the original values is anywhere in the export,
// a mention and its account have the same pseudonym, ids keep their order and length, and the
// REST pages come out in the original's order.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;
using Json = nlohmann::json;

namespace {

const char* const kAlice = R"({
  "id": "ID", "username": "alicewonder", "acct": "alicewonder@fedi.wonderland.example",
  "display_name": "Zoë Ünalçelik 🦊 :blobcat:", "locked": false, "bot": false,
  "created_at": "2022-11-05T00:00:00.000Z",
  "note": "<p>Lives in Reykjavíkurborg, writes <a href=\"https://blog.wonderland.example/posts/secret-diary\">blog.wonderland.example/posts/secret-diary</a></p>",
  "url": "https://fedi.wonderland.example/@alicewonder",
  "uri": "https://fedi.wonderland.example/users/alicewonder",
  "avatar": "https://files.wonderland.example/avatars/alicewonder-portrait.png",
  "avatar_static": "https://files.wonderland.example/avatars/alicewonder-portrait.png",
  "header": "https://files.wonderland.example/headers/alicewonder-garden.jpg",
  "header_static": "https://files.wonderland.example/headers/alicewonder-garden.jpg",
  "fields": [{"name": "Homepage", "value": "<a href=\"https://wonderland-homepage.example/me\">wonderland-homepage.example/me</a>", "verified_at": null}],
  "emojis": [{"shortcode": "blobcat", "url": "https://files.wonderland.example/emoji/blobcat.png", "static_url": "https://files.wonderland.example/emoji/blobcat.png", "visible_in_picker": true}]
})";

const char* const kBob = R"({
  "id": "BOBID", "username": "bobbuilder", "acct": "bobbuilder@other-place.example",
  "display_name": "Robert Baumeister", "created_at": "2022-11-05T00:00:00.000Z",
  "note": "", "url": "https://other-place.example/@bobbuilder",
  "uri": "https://other-place.example/users/bobbuilder",
  "avatar": "https://other-place.example/avatars/bobbuilder.png",
  "avatar_static": "https://other-place.example/avatars/bobbuilder.png",
  "header": "", "header_static": "", "fields": [], "emojis": []
})";

// Alice's status mentioning Bob, with the id of the synthesized status it stands in for.
Json alice_status(const std::string& id, const std::string& bob_id) {
    Json account = Json::parse(kAlice);
    account["id"] = "109000000000000101";
    Json s;
    s["id"] = id;
    s["created_at"] = "2026-08-21T12:00:01.000Z";
    s["spoiler_text"] = "Geheimnisvolle Überraschung";
    s["visibility"] = "public";
    s["language"] = "de";
    s["uri"] = "https://fedi.wonderland.example/users/alicewonder/statuses/" + id;
    s["url"] = "https://fedi.wonderland.example/@alicewonder/" + id;
    s["content"] =
        "<p><span class=\"h-card\"><a href=\"https://other-place.example/@bobbuilder\" "
        "class=\"u-url mention\">@<span>bobbuilder</span></a></span> שלום עליכם مرحبا بالعالم "
        "café crème &amp; Grüße :blobcat: <a href=\"https://news.wonderland.example/"
        "article-about-alice\" rel=\"nofollow\">news.wonderland.example/article-about-alice</a> "
        "<a href=\"https://fedi.wonderland.example/tags/rust\" class=\"mention hashtag\" "
        "rel=\"tag\">#<span>rust</span></a></p>";
    s["account"] = account;
    s["media_attachments"] = Json::array(
        {{{"id", "109000000000000555"},
          {"type", "image"},
          {"url", "https://files.wonderland.example/media/alice-at-the-beach.jpg"},
          {"preview_url", "https://files.wonderland.example/media/small/alice-at-the-beach.jpg"},
          {"remote_url", nullptr},
          {"description", "Alice standing at Reynisfjara beach"},
          {"blurhash", "UeKUpFxuo~R%0nW;WCnhF6RjaJt757oJodS$"}}});
    s["mentions"] = Json::array({{{"id", bob_id},
                                  {"username", "bobbuilder"},
                                  {"url", "https://other-place.example/@bobbuilder"},
                                  {"acct", "bobbuilder@other-place.example"}}});
    s["tags"] =
        Json::array({{{"name", "rust"}, {"url", "https://fedi.wonderland.example/tags/rust"}}});
    s["emojis"] = Json::array();
    s["poll"] = {{"id", "34567"},
                 {"options", Json::array({{{"title", "Kaffee mit Sahne"}, {"votes_count", 3}},
                                          {{"title", "Tee ohne Zucker"}, {"votes_count", 1}}})}};
    s["card"] = {{"url", "https://news.wonderland.example/article-about-alice"},
                 {"title", "Alice findet das Wunderland"},
                 {"description", "Eine Geschichte über Alice"},
                 {"author_name", "Lewis Carrollsson"},
                 {"html", "<iframe src=\"https://news.wonderland.example/embed\"></iframe>"},
                 {"image", "https://files.wonderland.example/cards/alice.jpg"},
                 {"blurhash", "UeKUpFxuo~R%0nW;WCnhF6RjaJt757oJodS$"}};
    return s;
}

// The originals that must be gone.
const std::vector<std::string> kOriginals = {"alicewonder",
                                             "wonderland",
                                             "Zoë",
                                             "Ünalçelik",
                                             "Reykjav",
                                             "secret-diary",
                                             "bobbuilder",
                                             "other-place",
                                             "Robert Baumeister",
                                             "שלום",
                                             "مرحبا",
                                             "café",
                                             "Grüße",
                                             "article-about-alice",
                                             "Geheimnisvolle",
                                             "Reynisfjara",
                                             "Kaffee mit Sahne",
                                             "Carrollsson",
                                             "alice-at-the-beach",
                                             "UeKUpFxuo",
                                             "portrait",
                                             "example.social",
                                             "hachyderm"};

// The JSONL of a synthesized user session with alice's status in place of one of its statuses
// and a notification from bob (a mention of alice) in place of one of its notifications.
std::string hand_made_session(const TempDir& dir) {
    const std::string db = dir.file("synth.db");
    {
        schema::TapeStore store(db, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 60;
        so.connection_ends = {"eof"};
        so.event_mix = {"update", "notification"};
        schema::synthesize(store, so);
    }
    std::istringstream in(exported(db, 1));
    std::string out;
    bool status_done = false, notification_done = false;
    const std::string bob_id = "109000000000000202";
    for (std::string line; std::getline(in, line);) {
        Json r = Json::parse(line);
        if (r.value("type", "") == "frame" && r.value("kind", "") == "event") {
            Json envelope = Json::parse(r["text"].get<std::string>());
            Json payload;
            if (!status_done && r["event"] == "update") {
                payload = alice_status(r["id"], bob_id);
                status_done = true;
            } else if (!notification_done && r["event"] == "notification") {
                Json bob = Json::parse(kBob);
                bob["id"] = bob_id;
                payload = {{"id", r["id"]},
                           {"type", "mention"},
                           {"created_at", "2026-08-21T12:00:02.000Z"},
                           {"account", bob},
                           {"status", alice_status("117133384180826100", bob_id)}};
                notification_done = true;
            }
            if (!payload.is_null()) {
                envelope["payload"] = payload.dump();
                r["text"] = envelope.dump();
                line = r.dump();
            }
        }
        out += line + "\n";
    }
    REQUIRE(status_done);
    REQUIRE(notification_done);
    return out;
}

}  // namespace

TEST_CASE("redact leaves none of the original names, hosts and texts, consistently") {
    TempDir dir;
    const std::string db = dir.file("mastotape.db");
    {
        schema::TapeStore store(db, schema::OpenMode::create);
        std::istringstream in(hand_made_session(dir));
        schema::import_jsonl(store, in, "hand-made");
    }
    const std::string original = exported(db, 1);
    for (const auto& value : kOriginals) {
        INFO(value);
        REQUIRE(original.find(value) != std::string::npos);  // they are there to begin with
    }
    auto r = run_mastotape("redact --dry-run", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::StartsWith("would redact: ") && Catch::Contains(" accounts, "));
    r = run_mastotape("redact --seed 7", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("as session 2"));
    CHECK_THAT(r.err, Catch::StartsWith("redacted: ") && Catch::Contains("0 unparsable"));
    CHECK(exported(db, 1) == original);  // the input is never changed
    CHECK(run_mastotape("verify", dir).exit_code == 0);

    const std::string redacted = exported(db, 2);
    for (const auto& value : kOriginals) {
        INFO(value);
        CHECK(redacted.find(value) == std::string::npos);
    }
    CHECK(redacted.find("#<span>rust</span>") != std::string::npos);  // a hashtag stays
    CHECK(redacted.find(":blobcat:") != std::string::npos);           // and a custom emoji

    // Bob as the notification's account and as the mention in alice's status: one pseudonym.
    schema::TapeStore store(db, schema::OpenMode::read);
    Json bob, mention;
    std::string content;
    auto cursor = store.frames_from_seq(2, 1);
    for (schema::Frame f; cursor.next(f);) {
        if (f.columns.kind != schema::FrameKind::event) {
            continue;
        }
        const Json p = Json::parse(*schema::event_payload(schema::Transport::websocket, f.bytes));
        // Bob's: its status is alice's, the one with a spoiler and a mention.
        if (*f.columns.event == "notification" && p.contains("status") && p["status"].is_object() &&
            !p["status"]["spoiler_text"].get<std::string>().empty() &&
            !p["status"]["mentions"].empty()) {
            bob = p["account"];
            mention = p["status"]["mentions"][0];
            content = p["status"]["content"];
        }
    }
    REQUIRE(bob.is_object());
    CHECK(bob["username"] == mention["username"]);
    CHECK(bob["acct"] == mention["acct"]);
    CHECK(bob["url"] == mention["url"]);
    CHECK(bob["id"] == mention["id"]);
    CHECK(bob["id"].get<std::string>().size() == 18);  // ids keep their length
    CHECK_THAT(content,
               Catch::Contains("href=\"" + bob["url"].get<std::string>() + "\"") &&
                   Catch::Contains("@<span>" + bob["username"].get<std::string>() + "</span>"));
    CHECK_THAT(bob["acct"].get<std::string>(), Catch::EndsWith(".example"));

    // The same seed, the same pseudonyms.
    REQUIRE(run_mastotape("redact 1 --seed 7", dir).exit_code == 0);
    CHECK(exported(db, 3) == redacted);
}

TEST_CASE("redact maps the ids inside a group_key and replaces X-Request-Id") {
    // Before: "ungrouped-<notification id>" kept the original id, and the server's request ids
    // (which its logs tie to the user) were kept as they were.
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 40 --mix notification --connection-ends eof -q", dir)
                .exit_code == 0);
    REQUIRE(run_mastotape("redact --seed 3", dir).exit_code == 0);
    schema::TapeStore store(dir.file("mastotape.db"), schema::OpenMode::read);
    const auto request_ids = [&](std::int64_t session) {
        std::set<std::string> out;
        for (const auto& c : store.connections(session)) {
            const Json h =
                Json::parse(c.response_headers_json.empty() ? "{}" : c.response_headers_json);
            if (h.contains("X-Request-Id")) {
                out.insert(h["X-Request-Id"].get<std::string>());
            }
        }
        return out;
    };
    const auto before = request_ids(1);
    const auto after = request_ids(2);
    REQUIRE(before.size() >= 2);
    REQUIRE(after.size() == before.size());  // one pseudonym each, in a request id's shape
    for (const auto& id : after) {
        CHECK(before.count(id) == 0);
        CHECK_THAT(id, Catch::Matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                      "[0-9a-f]{12}"));
    }
    const auto notifications = [&](std::int64_t session) {
        std::vector<Json> out;
        auto cursor = store.frames_from_seq(session, 1);
        for (schema::Frame f; cursor.next(f);) {
            if (f.columns.event == "notification") {
                out.push_back(
                    Json::parse(*schema::event_payload(schema::Transport::websocket, f.bytes)));
            }
        }
        return out;
    };
    const auto original = notifications(1);
    const auto redacted = notifications(2);
    REQUIRE(original.size() == redacted.size());
    REQUIRE_FALSE(original.empty());
    for (std::size_t i = 0; i < original.size(); ++i) {
        INFO(original[i]["group_key"] << " became " << redacted[i]["group_key"]);
        CHECK(original[i]["group_key"] == "ungrouped-" + original[i]["id"].get<std::string>());
        CHECK(redacted[i]["id"] != original[i]["id"]);
        CHECK(redacted[i]["group_key"] == "ungrouped-" + redacted[i]["id"].get<std::string>());
    }
    // The same seed, the same request ids.
    REQUIRE(run_mastotape("redact 1 --seed 3", dir).exit_code == 0);
    CHECK(request_ids(3) == after);
}

TEST_CASE("A redacted session's REST pages come in the original's order") {
    TempDir dir;
    const std::string db = dir.file("mastotape.db");
    {
        schema::TapeStore store(db, schema::OpenMode::create);
        schema::SynthOptions so;
        so.events = 80;
        so.connection_ends = {"eof"};
        so.missed_per_gap = 5;
        so.event_mix = {"update"};
        schema::synthesize(store, so);
    }
    REQUIRE(run_mastotape("redact", dir).exit_code == 0);
    // The created_at of each page's statuses, from a replay of each session at its end.
    const auto page_of = [&](std::int64_t session) {
        replay::ReplayOptions o;
        o.tape = db;
        o.session_id = session;
        o.clock = replay::ClockMode::max_speed;
        RunningReplay replay(o);
        for (int connection = 0; connection < 2; ++connection) {  // to the tape's end
            RawWs ws(replay.port(), "stream=user");
            while (ws.next(10)) {
            }
        }
        std::vector<std::pair<std::string, std::string>> out;  // (id, created_at)
        const auto res = http_get(replay.port(), "/api/v1/timelines/home?limit=40");
        for (const auto& s : Json::parse(res.substr(res.find("\r\n\r\n") + 4))) {
            out.emplace_back(s["id"], s["created_at"]);
        }
        return out;
    };
    const auto before = page_of(1);
    const auto after = page_of(2);
    REQUIRE(before.size() == 40);
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        CHECK(after[i].second == before[i].second);
        CHECK(after[i].first.size() == before[i].first.size());
        CHECK(after[i].first != before[i].first);
    }
}

TEST_CASE("An event whose payload does not parse is replaced, as long, and counted") {
    TempDir dir;
    // direct.jsonl with its first conversation's payload cut short, naming someone.
    std::istringstream fixture(read_file(MASTOTAPE_SOURCE_DIR "/fixtures/direct.jsonl"));
    std::string jsonl;
    std::size_t length = 0;
    for (std::string line; std::getline(fixture, line);) {
        Json r = Json::parse(line);
        if (length == 0 && r.value("type", "") == "frame" && r.value("kind", "") == "event") {
            Json envelope = Json::parse(r["text"].get<std::string>());
            envelope["payload"] = R"({"id":"418450","accounts":[{"username":"secretperson")";
            r["text"] = envelope.dump();
            r.erase("id");
            r["unparsed"] = true;
            length = r["text"].get<std::string>().size();
            line = r.dump();
        }
        jsonl += line + "\n";
    }
    {
        schema::TapeStore store(dir.file("mastotape.db"), schema::OpenMode::create);
        std::istringstream in(jsonl);
        schema::import_jsonl(store, in, "broken");
    }
    const auto r = run_mastotape("redact", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("(1 unparsable, replaced)"));
    schema::TapeStore store(dir.file("mastotape.db"), schema::OpenMode::read);
    const auto frames = frames_of(store, 2);
    CHECK(frames.at(0).bytes == std::string(length, 'x'));
    CHECK(exported(dir.file("mastotape.db"), 2).find("secretperson") == std::string::npos);
    CHECK(run_mastotape("verify", dir).exit_code == 0);
}
