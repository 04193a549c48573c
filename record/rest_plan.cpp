#include "record/rest_plan.hpp"

#include <algorithm>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/streams.hpp"

namespace mastotape::record {
namespace {

std::optional<BackfillTarget> status_target(const schema::Subscription& s) {
    const std::string path = schema::status_timeline(s);
    if (path.empty()) {
        return std::nullopt;
    }
    return BackfillTarget{path, schema::timeline_flags(s)};
}

}  // namespace

std::vector<BackfillTarget> backfill_targets(const std::vector<schema::Subscription>& subs) {
    std::vector<BackfillTarget> out;
    auto add = [&](const BackfillTarget& t) {
        if (std::find(out.begin(), out.end(), t) == out.end()) {
            out.push_back(t);
        }
    };
    for (const auto& s : subs) {
        if (auto t = status_target(s)) {
            add(*t);
        }
        const schema::StreamInfo* info = schema::find_stream(s.stream);
        if (info != nullptr && info->notifications) {
            add({"/api/v1/notifications", ""});
        }
        if (info != nullptr && info->conversations) {
            add({"/api/v1/conversations", ""});
        }
    }
    return out;
}

std::optional<BackfillTarget> target_of_event(std::string_view label, std::string_view event) {
    const auto named = schema::subscription_of_label(label);
    if (!named) {
        return std::nullopt;
    }
    const schema::Subscription& s = *named;
    // Only a stream that carries them: as the replayer's verdict reads the same flags.
    const schema::StreamInfo* info = schema::find_stream(s.stream);
    if (event == "notification") {
        return info != nullptr && info->notifications
                   ? std::optional(BackfillTarget{"/api/v1/notifications", ""})
                   : std::nullopt;
    }
    if (event == "conversation") {
        return info != nullptr && info->conversations
                   ? std::optional(BackfillTarget{"/api/v1/conversations", ""})
                   : std::nullopt;
    }
    if (event == "update") {
        return status_target(s);
    }
    return std::nullopt;
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

}  // namespace mastotape::record
