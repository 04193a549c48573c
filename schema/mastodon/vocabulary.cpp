#include "schema/mastodon/vocabulary.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "schema/text/name_table.hpp"

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

constexpr std::array<std::pair<MessageKind, std::string_view>, 5> kMessageKinds{{
    {MessageKind::text, "text"},
    {MessageKind::binary, "binary"},
    {MessageKind::ping, "ping"},
    {MessageKind::pong, "pong"},
    {MessageKind::close, "close"},
}};

constexpr std::array<std::pair<TokenIn, std::string_view>, 3> kTokenIns{{
    {TokenIn::header, "header"},
    {TokenIn::query, "query"},
    {TokenIn::subprotocol, "subprotocol"},
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

std::string_view to_string(FrameKind k) { return name_in(kFrameKinds, k); }

std::optional<FrameKind> frame_kind_from_string(std::string_view s) {
    return value_in<FrameKind>(kFrameKinds, s);
}

std::string_view to_string(MessageKind k) { return name_in(kMessageKinds, k); }

std::optional<MessageKind> message_kind_from_string(std::string_view s) {
    return value_in<MessageKind>(kMessageKinds, s);
}

std::string_view to_string(TokenIn t) { return name_in(kTokenIns, t); }

std::optional<TokenIn> token_in_from_string(std::string_view s) {
    return value_in<TokenIn>(kTokenIns, s);
}

std::string Subscription::label() const {
    nlohmann::json array = nlohmann::json::array({stream});
    if (!param.empty()) {
        array.push_back(param);
    }
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mastotape::schema
