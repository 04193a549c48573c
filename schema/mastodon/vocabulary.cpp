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

constexpr std::array<std::pair<TokenIn, std::string_view>, 3> kTokenIns{{
    {TokenIn::header, "header"},
    {TokenIn::query, "query"},
    {TokenIn::subprotocol, "subprotocol"},
}};

// The name of `value` in `table`, and back.
template <typename T, std::size_t N>
std::string_view name_in(const std::array<std::pair<T, std::string_view>, N>& table, T value) {
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const auto& e) { return e.first == value; });
    return it == table.end() ? std::string_view() : it->second;
}
template <typename T, std::size_t N>
std::optional<T> value_in(const std::array<std::pair<T, std::string_view>, N>& table,
                          std::string_view name) {
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const auto& e) { return e.second == name; });
    return it == table.end() ? std::nullopt : std::optional(it->first);
}

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

std::string_view to_string(FrameKind k) { return name_in(kFrameKinds, k); }

std::optional<FrameKind> frame_kind_from_string(std::string_view s) {
    return value_in(kFrameKinds, s);
}

std::string_view to_string(TokenIn t) { return name_in(kTokenIns, t); }

std::optional<TokenIn> token_in_from_string(std::string_view s) { return value_in(kTokenIns, s); }

std::string Subscription::label() const {
    nlohmann::json array = nlohmann::json::array({stream});
    if (!param.empty()) {
        array.push_back(param);
    }
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mastotape::schema
