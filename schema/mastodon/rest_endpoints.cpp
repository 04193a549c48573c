#include "schema/mastodon/rest_endpoints.hpp"

#include <algorithm>
#include <array>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/streams.hpp"

namespace mastotape::schema {
namespace {

constexpr std::string_view kNotifications = "/api/v1/notifications";
constexpr std::string_view kConversations = "/api/v1/conversations";

// The lists beside the status timelines, and the stream flag that says a stream's items are there.
struct SharedList {
    std::string_view path;
    std::string_view event;
    bool StreamInfo::*flag;
    std::int64_t default_limit;
};
constexpr std::array<SharedList, 2> kSharedLists{{
    {kNotifications, "notification", &StreamInfo::notifications, 40},
    {kConversations, "conversation", &StreamInfo::conversations, 20},
}};

// The parameters a status timeline's Link headers keep (section 10), by its path or prefix.
struct TimelineLinks {
    std::string_view path;
    bool prefix;
    std::array<std::string_view, 4> params;
};
constexpr std::array<TimelineLinks, 3> kTimelineLinks{{
    {"/api/v1/timelines/home", false, {"local", "limit"}},
    {"/api/v1/timelines/public", false, {"local", "remote", "limit", "only_media"}},
    {"/api/v1/timelines/tag/", true, {"local", "limit", "only_media"}},
}};

std::optional<RestEndpoint> status_endpoint(const Subscription& s) {
    std::string path = status_timeline(s);
    if (path.empty()) {
        return std::nullopt;
    }
    return RestEndpoint{std::move(path), timeline_flags(s), "update"};
}

// The streams whose statuses the status timeline `path` holds, as `query` selects them: of the
// streams sharing the timeline, the one whose flags (local, remote, only_media) are exactly the
// truthy ones among the flags those streams use (a tag timeline ignores only_media, say).
std::vector<Subscription> status_sources(std::string_view path, std::string_view query) {
    std::vector<const StreamInfo*> sharing;
    std::string param;
    for (const auto& s : all_streams()) {
        if (s.status_timeline.empty()) {
            continue;
        }
        const bool prefix = s.param != StreamParam::none;
        if (prefix ? path.size() > s.status_timeline.size() && path.starts_with(s.status_timeline)
                   : path == s.status_timeline) {
            sharing.push_back(&s);
            param = prefix ? std::string(path.substr(s.status_timeline.size())) : "";
        }
    }
    const auto has_flag = [](std::string_view flags, std::string_view key) {
        return flags.find(std::string(key) + "=true") != std::string_view::npos;
    };
    const bool local = query_truthy(query_param(query, "local"));
    const auto asked = [&](std::string_view key) {
        if (key == "remote" && local) {
            return false;  // local wins, as Mastodon's PublicFeed reads them
        }
        return query_truthy(query_param(query, key));
    };
    for (const auto* s : sharing) {
        bool match = true;
        for (const std::string_view key : {"local", "remote", "only_media"}) {
            const bool used = std::any_of(sharing.begin(), sharing.end(), [&](const auto* o) {
                return has_flag(o->timeline_flags, key);
            });
            if (used && has_flag(s->timeline_flags, key) != asked(key)) {
                match = false;
            }
        }
        if (match) {
            return {{std::string(s->name), param}};
        }
    }
    return {};
}

}  // namespace

std::vector<RestEndpoint> rest_endpoints(const Subscription& s) {
    std::vector<RestEndpoint> out;
    if (auto statuses = status_endpoint(s)) {
        out.push_back(std::move(*statuses));
    }
    if (const StreamInfo* info = find_stream(s.stream)) {
        for (const auto& list : kSharedLists) {
            if (info->*list.flag) {
                out.push_back({std::string(list.path), "", list.event});
            }
        }
    }
    return out;
}

std::vector<RestEndpoint> rest_endpoints(const std::vector<Subscription>& subs) {
    std::vector<RestEndpoint> out;
    for (const auto& s : subs) {
        for (auto& e : rest_endpoints(s)) {
            if (std::find(out.begin(), out.end(), e) == out.end()) {
                out.push_back(std::move(e));
            }
        }
    }
    return out;
}

std::optional<RestEndpoint> endpoint_of(const Subscription& s, std::string_view event) {
    for (auto& e : rest_endpoints(s)) {
        if (e.event == event) {
            return std::move(e);
        }
    }
    return std::nullopt;
}

std::optional<RestEndpoint> endpoint_of_label(std::string_view label, std::string_view event) {
    const auto s = subscription_of_label(label);
    return s ? endpoint_of(*s, event) : std::nullopt;
}

std::optional<ListedItems> listed_items(std::string_view path, std::string_view query) {
    for (const auto& list : kSharedLists) {
        if (path == list.path) {
            ListedItems out{list.event, {}, list.default_limit, {"limit"}};
            for (const auto& s : all_streams()) {
                if (s.*list.flag) {
                    out.sources.push_back({std::string(s.name), ""});
                }
            }
            return out;
        }
    }
    ListedItems out{"update", status_sources(path, query), 20, {"limit"}};
    if (out.sources.empty()) {
        return std::nullopt;
    }
    for (const auto& t : kTimelineLinks) {
        if (t.prefix ? path.starts_with(t.path) : path == t.path) {
            out.link_params.clear();
            for (const auto p : t.params) {
                if (!p.empty()) {
                    out.link_params.push_back(p);
                }
            }
        }
    }
    return out;
}

std::optional<std::string> link_url(std::string_view header, std::string_view rel) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        const auto open = header.find('<', pos);
        if (open == std::string_view::npos) {
            return std::nullopt;
        }
        const auto close = header.find('>', open);
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        auto next = header.find('<', close);
        const std::string_view params = header.substr(
            close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1);
        const std::string wanted = "rel=\"" + std::string(rel) + "\"";
        if (params.find(wanted) != std::string_view::npos) {
            return std::string(header.substr(open + 1, close - open - 1));
        }
        pos = next == std::string_view::npos ? header.size() : next;
    }
    return std::nullopt;
}

}  // namespace mastotape::schema
