#include "replay/frame_convert.hpp"

#include <nlohmann/json.hpp>

#include "schema/mastodon/frame_classifier.hpp"

namespace mastotape::replay {

std::optional<std::string> sse_block_from_envelope(std::string_view envelope) {
    const auto j = nlohmann::json::parse(envelope, nullptr, false);
    if (!j.is_object() || !j.contains("event") || !j.contains("payload") ||
        !j.at("event").is_string() || !j.at("payload").is_string()) {
        return std::nullopt;
    }
    return schema::sse_block(j.at("event").get<std::string>(), j.at("payload").get<std::string>());
}

std::optional<std::string> envelope_from_sse_block(std::string_view block, std::string_view label) {
    const schema::SseFields fields = schema::parse_sse_block(block);
    if (!fields.has_event || !fields.has_data) {
        return std::nullopt;
    }
    return schema::ws_envelope(label, fields.event, fields.data);
}

}  // namespace mastotape::replay
