#include "replay/bot_api.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/text/json_text.hpp"
#include "schema/text/xml_text.hpp"

namespace mastotape::replay {
namespace {

constexpr std::string_view kStatuses = "/api/v1/statuses";
constexpr std::array<std::string_view, 4> kVisibilities = {"public", "unlisted", "private",
                                                           "direct"};

RestResponse answer(int status, std::string body) {
    RestResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

RestResponse not_found() { return answer(404, R"({"error":"Record not found"})"); }

RestResponse unprocessable(const std::string& why) {
    return answer(422, schema::error_json("Validation failed: " + why));
}

// Plain text as Mastodon renders it into `content`: escaped, a line break as <br />.
std::string html_of(std::string_view text) {
    std::string out;
    for (const char c : schema::xml_escaped(text)) {
        if (c == '\n') {
            out += "<br />";
        } else {
            out += c;
        }
    }
    return out;
}

bool truthy(const std::optional<std::string>& v) {
    return v && (*v == "true" || *v == "1" || *v == "on");
}

// "/a/b/c" -> {"a", "b", "c"}.
std::vector<std::string> segments(std::string_view path) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < path.size()) {
        const std::size_t slash = path.find('/', at);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (end > at) {
            out.emplace_back(path.substr(at, end - at));
        }
        at = end + 1;
    }
    return out;
}

}  // namespace

BotApi::BotApi(schema::TapeStore& store, const schema::Session& session)
    : store_(store), session_(session) {
    // Ids after every id on the tape: Mastodon's ids are milliseconds since 1970, shifted left by
    // 16 bits; the bot's start a second after the tape's last record.
    const std::int64_t end_ns = session.ended_offset_ns.value_or(0);
    const std::int64_t ms = (session.started_wall_ns + end_ns) / schema::kMs + 1000;
    next_id_ = ms << 16;
}

std::string BotApi::next_id() { return std::to_string(++next_id_); }

std::string BotApi::created_at(std::int64_t tape_now) const {
    return schema::format_iso_ms(session_.started_wall_ns + tape_now);
}

BotApi::Json BotApi::bot_account() const {
    return Json{
        {"id", kBotAccountId},
        {"username", "mastotape_bot"},
        {"acct", "mastotape_bot"},
        {"display_name", "mastotape bot"},
        {"locked", false},
        {"bot", true},
        {"discoverable", false},
        {"group", false},
        {"created_at", schema::format_iso_date(session_.started_wall_ns) + "T00:00:00.000Z"},
        {"note", ""},
        {"url", base_ + "/@mastotape_bot"},
        {"avatar", base_ + "/avatars/original/missing.png"},
        {"avatar_static", base_ + "/avatars/original/missing.png"},
        {"header", base_ + "/headers/original/missing.png"},
        {"header_static", base_ + "/headers/original/missing.png"},
        {"followers_count", 0},
        {"following_count", 0},
        {"statuses_count", static_cast<std::int64_t>(made_.size())},
        {"last_status_at", nullptr},
        {"emojis", Json::array()},
        {"fields", Json::array()}};
}

std::optional<RestResponse> BotApi::handle(const HttpCall& c) {
    base_ = c.base;
    if (c.path == "/api/v1/accounts/verify_credentials") {
        if (c.method != "GET") {
            return std::nullopt;
        }
        Json me = bot_account();
        me["source"] =
            Json{{"privacy", "public"}, {"sensitive", false},      {"language", ""},
                 {"note", ""},          {"fields", Json::array()}, {"follow_requests_count", 0}};
        return answer(200, me.dump());
    }
    if (c.path == kStatuses) {
        return c.method == "POST" ? std::optional(post_status(c)) : std::nullopt;
    }
    if (c.path == "/api/v1/media" || c.path == "/api/v2/media") {
        return c.method == "POST" ? std::optional(upload(c)) : std::nullopt;
    }
    const auto parts = segments(c.path);
    // /api/v1/statuses/:id[/action], /api/v1/accounts/:id[/action]
    if (parts.size() < 4 || parts.size() > 5 || parts[0] != "api" || parts[1] != "v1") {
        return std::nullopt;
    }
    const std::string action = parts.size() == 5 ? parts[4] : "";
    if (parts[2] == "statuses") {
        return status_route(c, parts[3], action);
    }
    if (parts[2] == "accounts") {
        return account_route(c, parts[3], action);
    }
    return std::nullopt;
}

std::optional<RestResponse> BotApi::status_route(const HttpCall& c, const std::string& id,
                                                 const std::string& action) {
    if (action.empty() && c.method == "GET") {
        const auto s = status(id);
        return s ? answer(200, s->dump()) : not_found();
    }
    if (action.empty() && c.method == "DELETE") {
        const auto it = made_.find(id);
        if (it == made_.end()) {
            return not_found();  // not there, or not the bot's
        }
        Json s = std::move(it->second);
        made_.erase(it);
        return answer(200, s.dump());
    }
    if (action == "context" && c.method == "GET") {
        auto s = status(id);
        if (!s) {
            return not_found();
        }
        Json ancestors = Json::array();
        // (Bounded: a tape's statuses could name each other in a ring.)
        auto parent = s->value("in_reply_to_id", Json(nullptr));
        for (int depth = 0; parent.is_string() && depth < 100; ++depth) {
            const auto p = status(parent.get<std::string>());
            if (!p) {
                break;
            }
            ancestors.insert(ancestors.begin(), *p);
            parent = p->value("in_reply_to_id", Json(nullptr));
        }
        Json descendants = Json::array();
        for (const auto& [made_id, made] : made_) {
            if (made.value("in_reply_to_id", Json(nullptr)) == id) {
                descendants.push_back(made);
            }
        }
        return answer(200, Json{{"ancestors", ancestors}, {"descendants", descendants}}.dump());
    }
    if ((action == "favourite" || action == "unfavourite") && c.method == "POST") {
        auto s = status(id);
        if (!s) {
            return not_found();
        }
        const bool on = action == "favourite";
        if ((*s)["favourited"] != on) {
            (*s)["favourited"] = on;
            (*s)["favourites_count"] = (*s).value("favourites_count", 0) + (on ? 1 : -1);
        }
        (made_.count(id) > 0 ? made_[id] : favourited_[id]) = *s;
        return answer(200, s->dump());
    }
    if (action == "reblog" && c.method == "POST") {
        auto s = status(id);
        if (!s) {
            return not_found();
        }
        (*s)["reblogged"] = true;
        Json wrapper = own_status(next_id(), c.tape_now);
        wrapper["visibility"] = param(c, "visibility").value_or("public");
        wrapper["uri"] = wrapper["uri"].get<std::string>() + "/activity";
        wrapper["url"] = nullptr;
        wrapper["reblog"] = *s;
        made_[wrapper["id"].get<std::string>()] = wrapper;
        return answer(200, wrapper.dump());
    }
    return std::nullopt;
}

std::optional<RestResponse> BotApi::account_route(const HttpCall& c, const std::string& id,
                                                  const std::string& action) {
    if (action.empty() && c.method == "GET") {
        const auto a = account(id);
        return a ? answer(200, a->dump()) : not_found();
    }
    if ((action == "follow" || action == "unfollow") && c.method == "POST") {
        if (!account(id)) {
            return not_found();
        }
        const Json relationship = {{"id", id},
                                   {"following", action == "follow"},
                                   {"showing_reblogs", action == "follow"},
                                   {"notifying", false},
                                   {"languages", nullptr},
                                   {"followed_by", false},
                                   {"blocking", false},
                                   {"blocked_by", false},
                                   {"muting", false},
                                   {"muting_notifications", false},
                                   {"requested", false},
                                   {"domain_blocking", false},
                                   {"endorsed", false},
                                   {"note", ""}};
        return answer(200, relationship.dump());
    }
    return std::nullopt;
}

// A status of the bot's, as Mastodon gives a new one: public, no content, nothing attached.
BotApi::Json BotApi::own_status(const std::string& id, std::int64_t tape_now) const {
    return {{"id", id},
            {"created_at", created_at(tape_now)},
            {"in_reply_to_id", nullptr},
            {"in_reply_to_account_id", nullptr},
            {"sensitive", false},
            {"spoiler_text", ""},
            {"visibility", "public"},
            {"language", nullptr},
            {"uri", base_ + "/users/mastotape_bot/statuses/" + id},
            {"url", base_ + "/@mastotape_bot/" + id},
            {"replies_count", 0},
            {"reblogs_count", 0},
            {"favourites_count", 0},
            {"edited_at", nullptr},
            {"favourited", false},
            {"reblogged", false},
            {"muted", false},
            {"bookmarked", false},
            {"pinned", false},
            {"content", ""},
            {"filtered", Json::array()},
            {"reblog", nullptr},
            {"application", {{"name", "mastotape"}, {"website", nullptr}}},
            {"account", bot_account()},
            {"media_attachments", Json::array()},
            {"mentions", Json::array()},
            {"tags", Json::array()},
            {"emojis", Json::array()},
            {"card", nullptr},
            {"poll", nullptr},
            {"text", ""}};
}

RestResponse BotApi::post_status(const HttpCall& c) {
    if (!c.idempotency_key.empty()) {
        if (const auto it = by_key_.find(c.idempotency_key); it != by_key_.end()) {
            if (const auto s = status(it->second)) {
                return answer(200, s->dump());
            }
        }
    }
    const std::string text = param(c, "status").value_or("");
    const auto media_ids = param_list(c, "media_ids");
    if (text.empty() && media_ids.empty()) {
        return unprocessable("Text can't be blank");
    }
    if (media_ids.size() > 4) {
        return unprocessable("Cannot attach more than 4 files");
    }
    Json media = Json::array();  // the bot's uploads among them; others are passed over
    for (const auto& m : media_ids) {
        if (const auto it = media_.find(m); it != media_.end()) {
            media.push_back(it->second);
        }
    }
    const std::string visibility = param(c, "visibility").value_or("public");
    if (std::find(kVisibilities.begin(), kVisibilities.end(), visibility) == kVisibilities.end()) {
        return unprocessable("Visibility is not included in the list");
    }
    Json reply_to = nullptr;
    Json reply_to_account = nullptr;
    if (const auto parent_id = param(c, "in_reply_to_id"); parent_id && !parent_id->empty()) {
        const auto parent = status(*parent_id);
        if (!parent) {
            return not_found();
        }
        reply_to = *parent_id;
        const auto author = parent->find("account");
        if (author != parent->end() && author->is_object()) {
            reply_to_account = author->value("id", Json(nullptr));
        }
    }
    const std::string id = next_id();
    const std::string spoiler = param(c, "spoiler_text").value_or("");
    const auto language = param(c, "language");
    Json s = own_status(id, c.tape_now);
    s["in_reply_to_id"] = reply_to;
    s["in_reply_to_account_id"] = reply_to_account;
    s["sensitive"] = truthy(param(c, "sensitive")) || !spoiler.empty();
    s["spoiler_text"] = spoiler;
    s["visibility"] = visibility;
    s["language"] = language ? Json(*language) : Json(nullptr);
    s["content"] = "<p>" + html_of(text) + "</p>";
    s["media_attachments"] = std::move(media);
    s["text"] = text;
    made_[id] = s;
    if (!c.idempotency_key.empty()) {
        by_key_[c.idempotency_key] = id;
    }
    return answer(200, s.dump());
}

namespace {

// What a file is by its first bytes, as Mastodon finds out (it does not trust the declared type:
// Mastodon.py declares application/octet-stream); empty when they say nothing known.
std::string sniffed_type(std::string_view bytes) {
    const auto at = [&](std::size_t offset, std::string_view magic) {
        return bytes.substr(std::min(offset, bytes.size())).starts_with(magic);
    };
    if (at(0, "\x89PNG")) {
        return "image/png";
    }
    if (at(0, "\xFF\xD8\xFF")) {
        return "image/jpeg";
    }
    if (at(0, "GIF8")) {
        return "image/gif";
    }
    if (at(0, "RIFF") && at(8, "WEBP")) {
        return "image/webp";
    }
    if (at(4, "ftyp")) {
        return "video/mp4";
    }
    if (at(0, "\x1A\x45\xDF\xA3")) {
        return "video/webm";
    }
    if (at(0, "ID3") || at(0, "\xFF\xFB")) {
        return "audio/mpeg";
    }
    if (at(0, "OggS")) {
        return "audio/ogg";
    }
    if (at(0, "RIFF") && at(8, "WAVE")) {
        return "audio/wave";
    }
    return {};
}

}  // namespace

// An upload: the multipart body's `file`, of the type its bytes say (else the type it declares);
// in a form or JSON body (which Mastodon refuses), nothing: 422. A v2 upload of what Mastodon
// processes later (video, audio, a GIF) is accepted with 202 and no URL yet.
RestResponse BotApi::upload(const HttpCall& c) {
    std::string media_type;
    bool has_file = false;
    for (const auto& part : form_parts(c)) {
        if (part.name == "file" && !part.filename.empty()) {
            has_file = true;
            media_type = sniffed_type(part.value);
            if (media_type.empty()) {
                media_type = part.content_type;
            }
        }
    }
    if (!has_file) {
        return unprocessable("File can't be blank");
    }
    if (!media_type.starts_with("image/") && !media_type.starts_with("video/") &&
        !media_type.starts_with("audio/")) {
        return unprocessable("File content type is invalid");
    }
    const std::string kind = media_type.starts_with("image/gif") ? "gifv"
                             : media_type.starts_with("image/")  ? "image"
                             : media_type.starts_with("video/")  ? "video"
                                                                 : "audio";
    const bool later =
        c.path == "/api/v2/media" && (kind == "video" || kind == "audio" || kind == "gifv");
    const std::string id = next_id();
    const std::string url = base_ + "/system/media_attachments/files/" + id + "/original";
    const Json attachment = {
        {"id", id},
        {"type", kind},
        {"url", later ? Json(nullptr) : Json(url)},
        {"preview_url", base_ + "/system/media_attachments/files/" + id + "/small"},
        {"remote_url", nullptr},
        {"preview_remote_url", nullptr},
        {"text_url", nullptr},
        {"meta", Json::object()},
        {"description", param(c, "description") ? Json(*param(c, "description")) : Json(nullptr)},
        {"blurhash", nullptr}};
    media_[id] = attachment;
    return answer(later ? 202 : 200, attachment.dump());
}

std::optional<BotApi::Json> BotApi::status(const std::string& id) {
    if (const auto it = made_.find(id); it != made_.end()) {
        return it->second;
    }
    if (const auto it = favourited_.find(id); it != favourited_.end()) {
        return it->second;
    }
    // The newest form of a streamed status: an edit, else the status as it came.
    for (const char* event : {"status.update", "update"}) {
        const auto rows = store_.event_rows(session_.id, event, id);
        if (!rows.empty()) {
            const auto payload =
                schema::event_payload(session_.transport, store_.frame_bytes(rows.back()));
            if (payload) {
                auto doc = Json::parse(*payload, nullptr, false);
                if (doc.is_object()) {
                    return doc;
                }
            }
        }
    }
    index_notifications();
    if (const auto it = noted_statuses_.find(id); it != noted_statuses_.end()) {
        return it->second;
    }
    return std::nullopt;
}

std::optional<BotApi::Json> BotApi::account(const std::string& id) {
    if (id == kBotAccountId) {
        return bot_account();
    }
    index_notifications();
    if (const auto it = noted_accounts_.find(id); it != noted_accounts_.end()) {
        return it->second;
    }
    return std::nullopt;
}

// The statuses and accounts inside what the tape holds besides streamed statuses: notifications
// (a mention's status is only there), streamed or backfilled, and backfilled statuses. Read once.
void BotApi::index_notifications() {
    if (notifications_indexed_) {
        return;
    }
    notifications_indexed_ = true;
    const auto note_account = [&](const Json& holder) {
        const auto a = holder.find("account");
        if (a != holder.end() && a->is_object() && a->contains("id") && (*a)["id"].is_string()) {
            noted_accounts_.emplace((*a)["id"].get<std::string>(), *a);
        }
    };
    const auto note_status = [&](const Json& st) {
        if (st.is_object() && st.contains("id") && st["id"].is_string()) {
            noted_statuses_.emplace(st["id"].get<std::string>(), st);
            note_account(st);
        }
    };
    // An entity as a stream or a REST page carries it: a notification, or a status.
    const auto note = [&](std::string_view text) {
        const Json doc = Json::parse(text, nullptr, false);
        if (!doc.is_object()) {
            return;
        }
        note_account(doc);
        if (doc.contains("type") && doc.contains("status")) {
            note_status(doc["status"]);
        } else if (doc.contains("content")) {
            note_status(doc);
        }
    };
    for (const std::string event : {"notification", "update"}) {
        for (const auto& label : store_.event_streams(session_.id, event)) {
            schema::ItemScan scan;
            scan.key = event;
            scan.stream = label;
            auto cursor = store_.items_by_id(session_.id, scan);
            schema::ItemRow row;
            while (cursor.next(row)) {
                if (const auto payload =
                        schema::event_payload(session_.transport, store_.frame_bytes(row.row))) {
                    note(*payload);
                }
            }
        }
    }
    for (const auto& item : store_.backfill(session_.id)) {
        note(item.body);
    }
}

}  // namespace mastotape::replay
