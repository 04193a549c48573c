#include "schema/mastodon/vocabulary.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace mastotape::schema {
namespace {

constexpr std::array<std::pair<FrameKind, std::string_view>, 7> kFrameKinds{{
    {FrameKind::event, "event"},
    {FrameKind::error, "error"},
    {FrameKind::text, "text"},
    {FrameKind::binary, "binary"},
    {FrameKind::ping, "ping"},
    {FrameKind::pong, "pong"},
    {FrameKind::comment, "comment"},
}};

}  // namespace

std::string_view to_string(Transport t) { return t == Transport::sse ? "sse" : "websocket"; }

std::optional<Transport> transport_from_string(std::string_view s) {
    if (s == "websocket" || s == "ws") {
        return Transport::websocket;
    }
    if (s == "sse") {
        return Transport::sse;
    }
    return std::nullopt;
}

std::string_view to_string(FrameKind k) {
    const auto it = std::find_if(kFrameKinds.begin(), kFrameKinds.end(),
                                 [&](const auto& e) { return e.first == k; });
    return it == kFrameKinds.end() ? std::string_view() : it->second;
}

std::optional<FrameKind> frame_kind_from_string(std::string_view s) {
    const auto it = std::find_if(kFrameKinds.begin(), kFrameKinds.end(),
                                 [&](const auto& e) { return e.second == s; });
    return it == kFrameKinds.end() ? std::nullopt : std::optional(it->first);
}

std::string Subscription::label() const {
    nlohmann::json array = nlohmann::json::array({stream});
    if (!param.empty()) {
        array.push_back(param);
    }
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mastotape::schema
