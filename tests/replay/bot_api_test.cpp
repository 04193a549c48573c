// What a bot calls besides the timelines, answered from a synthesized tape of notifications: who
// it is, the statuses and accounts on the tape (a mention's status is only inside its
// notification), and its own writes with Mastodon's status codes and error bodies.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "replay/bot_api.hpp"
#include "replay/report/request_journal.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/replay/mention_tape.hpp"

namespace mastotape {
namespace {

using nlohmann::json;

using test::MentionTape;

replay::HttpCall call(std::string method, std::string path, std::string body = "",
                      std::string content_type = "application/x-www-form-urlencoded") {
    replay::HttpCall c;
    c.method = std::move(method);
    c.path = std::move(path);
    c.body = std::move(body);
    c.content_type = std::move(content_type);
    c.tape_now = 2'000'000'000;
    c.base = "http://127.0.0.1:4000";
    return c;
}

}  // namespace

TEST_CASE("A bot learns who it is, reads the tape's statuses and accounts, and replies",
          "[bot_api]") {
    MentionTape t;
    replay::BotApi api(t.store, t.session);

    const auto me = api.handle(call("GET", "/api/v1/accounts/verify_credentials"));
    REQUIRE(me);
    CHECK(me->status == 200);
    const json who = json::parse(me->body);
    CHECK(who["id"] == replay::kBotAccountId);
    CHECK(who["acct"] == "mastotape_bot");
    CHECK(who["source"]["privacy"] == "public");

    // The mention's status is only inside its notification; its author is on the tape.
    const auto status = api.handle(call("GET", "/api/v1/statuses/" + t.status_id));
    REQUIRE(status);
    CHECK(status->status == 200);
    CHECK(json::parse(status->body)["id"] == t.status_id);
    const auto author = api.handle(call("GET", "/api/v1/accounts/" + t.account_id));
    REQUIRE(author);
    CHECK(json::parse(author->body)["id"] == t.account_id);

    // A reply, form-encoded as Mastodon.py sends it.
    const auto reply = api.handle(
        call("POST", "/api/v1/statuses",
             "status=thanks+%26+welcome&visibility=unlisted&in_reply_to_id=" + t.status_id));
    REQUIRE(reply);
    CHECK(reply->status == 200);
    const json r = json::parse(reply->body);
    CHECK(r["in_reply_to_id"] == t.status_id);
    CHECK(r["in_reply_to_account_id"] == t.account_id);
    CHECK(r["visibility"] == "unlisted");
    CHECK(r["content"] == "<p>thanks &amp; welcome</p>");
    CHECK(r["account"]["id"] == replay::kBotAccountId);
    // Its id sorts after every id on the tape (Mastodon's ids grow with time), and it can be read
    // back, and found in the status's context.
    const std::string reply_id = r["id"];
    CHECK(reply_id.size() >= t.status_id.size());
    CHECK((reply_id.size() > t.status_id.size() || reply_id > t.status_id));
    CHECK(api.handle(call("GET", "/api/v1/statuses/" + reply_id))->status == 200);
    const json context =
        json::parse(api.handle(call("GET", "/api/v1/statuses/" + t.status_id + "/context"))->body);
    REQUIRE(context["descendants"].size() == 1);
    CHECK(context["descendants"][0]["id"] == reply_id);

    // JSON, as masto.js sends it.
    const auto json_post =
        api.handle(call("POST", "/api/v1/statuses", R"({"status":"hi","visibility":"direct"})",
                        "application/json"));
    REQUIRE(json_post);
    CHECK(json::parse(json_post->body)["visibility"] == "direct");
    const auto two_lines = api.handle(call("POST", "/api/v1/statuses", "status=a%0A%3Cb%3E"));
    CHECK(json::parse(two_lines->body)["content"] == "<p>a<br />&lt;b&gt;</p>");
}

TEST_CASE("The bot's writes answer as Mastodon does: ids in sequence, errors with its bodies",
          "[bot_api]") {
    MentionTape t;
    replay::BotApi api(t.store, t.session);

    SECTION("a blank status, a bad visibility, a reply to nothing") {
        const auto blank = api.handle(call("POST", "/api/v1/statuses", "visibility=public"));
        CHECK(blank->status == 422);
        CHECK(json::parse(blank->body)["error"] == "Validation failed: Text can't be blank");
        const auto bad = api.handle(call("POST", "/api/v1/statuses", "status=x&visibility=secret"));
        CHECK(bad->status == 422);
        const auto orphan =
            api.handle(call("POST", "/api/v1/statuses", "status=x&in_reply_to_id=999"));
        CHECK(orphan->status == 404);
        CHECK(orphan->body == R"({"error":"Record not found"})");
    }
    SECTION("the same Idempotency-Key gives the same status") {
        auto c = call("POST", "/api/v1/statuses", "status=once");
        c.idempotency_key = "k1";
        const json first = json::parse(api.handle(c)->body);
        const json again = json::parse(api.handle(c)->body);
        CHECK(first["id"] == again["id"]);
        c.idempotency_key = "k2";
        CHECK(json::parse(api.handle(c)->body)["id"] != first["id"]);
    }
    SECTION("a delete: the bot's own status once, nobody else's") {
        const json mine =
            json::parse(api.handle(call("POST", "/api/v1/statuses", "status=oops"))->body);
        const std::string path = "/api/v1/statuses/" + mine["id"].get<std::string>();
        const auto deleted = api.handle(call("DELETE", path));
        CHECK(deleted->status == 200);
        CHECK(json::parse(deleted->body)["text"] == "oops");
        CHECK(api.handle(call("DELETE", path))->status == 404);
        CHECK(api.handle(call("GET", path))->status == 404);
        CHECK(api.handle(call("DELETE", "/api/v1/statuses/" + t.status_id))->status == 404);
    }
    SECTION("favourite, reblog and follow") {
        const auto fav = api.handle(call("POST", "/api/v1/statuses/" + t.status_id + "/favourite"));
        CHECK(json::parse(fav->body)["favourited"] == true);
        CHECK(json::parse(
                  api.handle(call("GET", "/api/v1/statuses/" + t.status_id))->body)["favourited"] ==
              true);
        const auto boost = api.handle(call("POST", "/api/v1/statuses/" + t.status_id + "/reblog"));
        CHECK(json::parse(boost->body)["reblog"]["id"] == t.status_id);
        const auto follow =
            api.handle(call("POST", "/api/v1/accounts/" + t.account_id + "/follow"));
        CHECK(json::parse(follow->body)["following"] == true);
        CHECK(api.handle(call("POST", "/api/v1/accounts/42/follow"))->status == 404);
        CHECK(api.handle(call("POST", "/api/v1/statuses/42/favourite"))->status == 404);
    }
    SECTION("two replays of the same calls answer the same bytes") {
        replay::BotApi other(t.store, t.session);
        const auto a =
            call("POST", "/api/v1/statuses", "status=same&in_reply_to_id=" + t.status_id);
        CHECK(api.handle(a)->body == other.handle(a)->body);
    }
    SECTION("paths that are no route of it") {
        CHECK(!api.handle(call("GET", "/api/v1/statuses")));
        CHECK(!api.handle(call("GET", "/api/v1/timelines/home")));
        CHECK(!api.handle(call("PUT", "/api/v1/accounts/verify_credentials")));
    }
}

TEST_CASE("The request journal keeps the token out of what it shows", "[bot_api]") {
    replay::RequestJournal journal;
    const std::string token = "secret-token-0123456789abcdef";
    journal.add(
        replay::JournalEntry{"client 1", 1'500'000'000, std::nullopt, "POST", "/api/v1/statuses",
                             "access_token=" + token + "&x=1", "status=hi&access_token=" + token,
                             "application/x-www-form-urlencoded", 200, true, ""},
        token);
    const std::string shown = journal.json();
    CHECK(shown.find(token) == std::string::npos);
    const json j = json::parse(shown);
    REQUIRE(j["requests"].size() == 1);
    CHECK(j["requests"][0]["query"] == "x=1");
    CHECK(j["requests"][0]["at_s"] == 1.5);
    CHECK(j["requests"][0]["position_s"].is_null());
}

TEST_CASE("An upload is read from its multipart body, as Mastodon reads it", "[bot_api]") {
    MentionTape t;
    replay::BotApi api(t.store, t.session);
    const std::string png = "\x89PNG\r\n--\r\n";
    const std::string mp4 = std::string(
        "\0\0\0\x18"
        "ftypmp42",
        12);
    const auto upload = [&](const std::string& path, const std::string& file_type,
                            const std::string& bytes) {
        std::string body =
            "--XyZ\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
            "a cat\r\n";
        if (!file_type.empty()) {
            body +=
                "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.bin\"\r\n"
                "Content-Type: " +
                file_type + "\r\n\r\n" + bytes + "\r\n";
        }
        body += "--XyZ--\r\n";
        return *api.handle(call("POST", path, body, "multipart/form-data; boundary=XyZ"));
    };
    // Mastodon.py declares application/octet-stream: the bytes say what it is.
    auto image = upload("/api/v2/media", "application/octet-stream", png);
    CHECK(image.status == 200);
    json j = json::parse(image.body);
    CHECK(j["type"] == "image");
    CHECK(j["description"] == "a cat");
    CHECK(j["url"].is_string());
    auto video = upload("/api/v2/media", "application/octet-stream", mp4);
    CHECK(video.status == 202);  // processed later: no URL yet
    j = json::parse(video.body);
    CHECK(j["type"] == "video");
    CHECK(j["url"].is_null());
    CHECK(upload("/api/v1/media", "video/mp4", mp4).status == 200);
    // Bytes that say nothing known: the declared type.
    CHECK(json::parse(upload("/api/v1/media", "audio/flac", "fLaC").body)["type"] == "audio");
    CHECK(upload("/api/v1/media", "application/zip", "PK\x03\x04").status == 422);
    // A status carries the bot's uploads it names (form or JSON), and passes over other ids.
    const std::string image_id = json::parse(image.body)["id"];
    auto with_media = api.handle(
        call("POST", "/api/v1/statuses", "status=look&media_ids[]=" + image_id + "&media_ids[]=9"));
    CHECK(json::parse(with_media->body)["media_attachments"].size() == 1);
    with_media = api.handle(call("POST", "/api/v1/statuses",
                                 R"({"media_ids": [")" + image_id + R"("]})", "application/json"));
    REQUIRE(with_media->status == 200);  // no text, but media
    CHECK(json::parse(with_media->body)["media_attachments"][0]["id"] == image_id);
    CHECK(api.handle(call("POST", "/api/v1/statuses",
                          "media_ids[]=1&media_ids[]=2&media_ids[]=3&media_ids[]=4&media_ids[]=5"))
              ->status == 422);
    const auto none = upload("/api/v1/media", "", "");
    CHECK(none.status == 422);
    CHECK(json::parse(none.body)["error"] == "Validation failed: File can't be blank");
    // A file's own bytes are not its parameters: a part holding "--" and CRLFs stays whole.
    replay::HttpCall c = call("POST", "/api/v1/media",
                              "--b\r\nContent-Disposition: form-data; name=\"file\"; "
                              "filename=\"x\"\r\nContent-Type: image/png\r\n\r\na\r\n--c\r\n"
                              "--b--\r\n",
                              "multipart/form-data; boundary=\"b\"");
    const auto parts = replay::form_parts(c);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].value == "a\r\n--c");
    CHECK(parts[0].filename == "x");
}

}  // namespace mastotape
