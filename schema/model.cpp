#include "schema/model.hpp"

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
    for (const auto& [kind, name] : kFrameKinds) {
        if (kind == k) {
            return name;
        }
    }
    return "text";
}

std::optional<FrameKind> frame_kind_from_string(std::string_view s) {
    for (const auto& [kind, name] : kFrameKinds) {
        if (name == s) {
            return kind;
        }
    }
    return std::nullopt;
}

std::string Subscription::label() const {
    nlohmann::json array = nlohmann::json::array({stream});
    if (!param.empty()) {
        array.push_back(param);
    }
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view to_string(SessionState s) {
    switch (s) {
        case SessionState::recording:
            return "recording";
        case SessionState::ended:
            return "ended";
        case SessionState::interrupted:
            return "interrupted";
    }
    return "interrupted";
}

SessionState session_state(const Session& s, std::int64_t now_wall_ns,
                           std::int64_t stale_after_ns) {
    if (s.ended_wall_ns) {
        return SessionState::ended;
    }
    return now_wall_ns - s.updated_wall_ns > stale_after_ns ? SessionState::interrupted
                                                            : SessionState::recording;
}

}  // namespace mastotape::schema
