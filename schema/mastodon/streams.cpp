#include "schema/mastodon/streams.hpp"

#include <algorithm>
#include <array>

#include "schema/text/json_text.hpp"

namespace mastotape::schema {
namespace {

constexpr std::array<std::string_view, 8> kUserEvents{"update",
                                                      "delete",
                                                      "status.update",
                                                      "notification",
                                                      "notifications_merged",
                                                      "announcement",
                                                      "announcement.reaction",
                                                      "announcement.delete"};
constexpr std::array<std::string_view, 3> kNotificationEvents{
    "notification", "notifications_merged", "status.update"};
constexpr std::array<std::string_view, 3> kStatusEvents{"update", "delete", "status.update"};
constexpr std::array<std::string_view, 1> kDirectEvents{"conversation"};

constexpr std::string_view kPublic = "/api/v1/timelines/public";
constexpr std::string_view kTag = "/api/v1/timelines/tag/";

const std::array<StreamInfo, 12> kStreams{{
    {"user", StreamParam::none, "/api/v1/streaming/user", false, "/api/v1/timelines/home", "", true,
     false, kUserEvents},
    {"user:notification", StreamParam::none, "/api/v1/streaming/user/notification", false, "", "",
     true, false, kNotificationEvents},
    {"public", StreamParam::none, "/api/v1/streaming/public", false, kPublic, "", false, false,
     kStatusEvents},
    {"public:media", StreamParam::none, "/api/v1/streaming/public", true, kPublic,
     "only_media=true", false, false, kStatusEvents},
    {"public:local", StreamParam::none, "/api/v1/streaming/public/local", false, kPublic,
     "local=true", false, false, kStatusEvents},
    {"public:local:media", StreamParam::none, "/api/v1/streaming/public/local", true, kPublic,
     "local=true&only_media=true", false, false, kStatusEvents},
    {"public:remote", StreamParam::none, "/api/v1/streaming/public/remote", false, kPublic,
     "remote=true", false, false, kStatusEvents},
    {"public:remote:media", StreamParam::none, "/api/v1/streaming/public/remote", true, kPublic,
     "remote=true&only_media=true", false, false, kStatusEvents},
    {"hashtag", StreamParam::tag, "/api/v1/streaming/hashtag", false, kTag, "", false, false,
     kStatusEvents},
    {"hashtag:local", StreamParam::tag, "/api/v1/streaming/hashtag/local", false, kTag,
     "local=true", false, false, kStatusEvents},
    {"list", StreamParam::list, "/api/v1/streaming/list", false, "/api/v1/timelines/list/", "",
     false, false, kStatusEvents},
    {"direct", StreamParam::none, "/api/v1/streaming/direct", false, "", "", false, true,
     kDirectEvents},
}};

}  // namespace

std::span<const StreamInfo> all_streams() { return kStreams; }

const StreamInfo* find_stream(std::string_view name) {
    const auto it = std::find_if(kStreams.begin(), kStreams.end(),
                                 [&](const StreamInfo& s) { return s.name == name; });
    return it == kStreams.end() ? nullptr : &*it;
}

std::string_view param_key(StreamParam p) {
    switch (p) {
        case StreamParam::tag:
            return "tag";
        case StreamParam::list:
            return "list";
        case StreamParam::none:
            break;
    }
    return "";
}

std::vector<std::string> events_of_stream(std::string_view stream) {
    const StreamInfo* s = find_stream(stream);
    if (s == nullptr) {
        return {};
    }
    return {s->events.begin(), s->events.end()};
}

bool stream_carries(std::string_view stream, std::string_view event) {
    const StreamInfo* s = find_stream(stream);
    return s != nullptr && std::find(s->events.begin(), s->events.end(), event) != s->events.end();
}

std::string timeline_flags(const Subscription& s) {
    const StreamInfo* info = find_stream(s.stream);
    return info == nullptr ? "" : std::string(info->timeline_flags);
}

std::string status_timeline(const Subscription& s) {
    const StreamInfo* info = find_stream(s.stream);
    if (info == nullptr || info->status_timeline.empty()) {
        return "";
    }
    std::string path(info->status_timeline);
    if (info->param != StreamParam::none) {
        path += s.param;
    }
    return path;
}

namespace {

// The key a subscription's parameter travels in; an unknown stream's goes as a tag, as the
// recorder has always sent it (the server refuses the stream either way).
std::string_view key_of_param(const StreamInfo* info) {
    return info != nullptr && info->param == StreamParam::list ? "list" : "tag";
}

}  // namespace

std::string websocket_query(const Subscription& s) {
    std::string query = "stream=" + s.stream;
    if (!s.param.empty()) {
        query += "&" + std::string(key_of_param(find_stream(s.stream))) + "=" + s.param;
    }
    return query;
}

std::string sse_target(const Subscription& s) {
    const StreamInfo* info = find_stream(s.stream);
    if (info == nullptr) {
        std::string path = s.stream;  // the server answers "Unknown channel requested"
        std::replace(path.begin(), path.end(), ':', '/');
        return "/api/v1/streaming/" + path;
    }
    std::string target(info->sse_path);
    if (info->media) {
        target += "?only_media=true";
    } else if (!s.param.empty()) {
        target += "?" + std::string(key_of_param(info)) + "=" + s.param;
    }
    return target;
}

std::string subscribe_message(const Subscription& s) {
    std::string msg = "{\"type\":\"subscribe\",\"stream\":";
    append_json_string(msg, s.stream);
    if (!s.param.empty()) {
        msg += ",\"" + std::string(key_of_param(find_stream(s.stream))) + "\":";
        append_json_string(msg, s.param);
    }
    msg += "}";
    return msg;
}

std::optional<Subscription> subscription_of_sse_path(std::string_view path,
                                                     std::optional<std::string_view> only_media,
                                                     std::optional<std::string_view> tag,
                                                     std::optional<std::string_view> list) {
    const bool media = query_truthy(only_media);
    for (const StreamInfo& s : kStreams) {
        if (s.sse_path != path) {
            continue;
        }
        // public* paths serve their :media stream when only_media is truthy; others ignore it.
        const bool has_media_twin = s.name.rfind("public", 0) == 0;
        if (has_media_twin && s.media != media) {
            continue;
        }
        Subscription sub{std::string(s.name), ""};
        if (s.param == StreamParam::tag) {
            sub.param = std::string(tag.value_or(""));
        } else if (s.param == StreamParam::list) {
            sub.param = std::string(list.value_or(""));
        }
        return sub;
    }
    return std::nullopt;
}

bool query_truthy(std::optional<std::string_view> value) {
    if (!value) {
        return false;
    }
    static constexpr std::array<std::string_view, 7> kFalse{"false", "0",   "f",  "F",
                                                            "FALSE", "off", "OFF"};
    return std::find(kFalse.begin(), kFalse.end(), *value) == kFalse.end();
}

}  // namespace mastotape::schema
