#include "replay/frame_convert.hpp"

#include <nlohmann/json.hpp>

#include "schema/json_text.hpp"

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
    std::string event;
    std::string data;
    bool has_event = false;
    bool has_data = false;
    std::size_t pos = 0;
    while (pos < block.size()) {
        std::size_t end = block.find('\n', pos);
        if (end == std::string_view::npos) {
            end = block.size();
        }
        const std::string_view line = block.substr(pos, end - pos);
        pos = end + 1;
        if (line.rfind("event: ", 0) == 0) {
            event = line.substr(7);
            has_event = true;
        } else if (line.rfind("data: ", 0) == 0) {
            if (has_data) {
                data += '\n';
            }
            data += line.substr(6);
            has_data = true;
        }
    }
    if (!has_event || !has_data) {
        return std::nullopt;
    }
    std::string out = "{\"stream\":";
    out += label;
    out += ",\"event\":";
    append_json_string(out, event);
    out += ",\"payload\":";
    append_json_string(out, data);
    out += "}";
    return out;
}

}  // namespace mastotape::replay
