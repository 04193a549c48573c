#include "replay/frame_convert.hpp"

#include <nlohmann/json.hpp>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::replay {

using schema::append_json_string;

std::optional<std::string> sse_block_from_envelope(std::string_view envelope) {
    const auto j = nlohmann::json::parse(envelope, nullptr, false);
    if (!j.is_object() || !j.contains("event") || !j.contains("payload") ||
        !j.at("event").is_string() || !j.at("payload").is_string()) {
        return std::nullopt;
    }
    return "event: " + j.at("event").get<std::string>() +
           "\ndata: " + j.at("payload").get<std::string>() + "\n\n";
}

std::optional<std::string> envelope_from_sse_block(std::string_view block, std::string_view label) {
    const schema::SseFields fields = schema::parse_sse_block(block);
    if (!fields.has_event || !fields.has_data) {
        return std::nullopt;
    }
    std::string out = "{\"stream\":";
    out += label;
    out += ",\"event\":";
    append_json_string(out, fields.event);
    out += ",\"payload\":";
    append_json_string(out, fields.data);
    out += "}";
    return out;
}

}  // namespace mastotape::replay
