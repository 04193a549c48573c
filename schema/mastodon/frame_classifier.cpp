#include "schema/mastodon/frame_classifier.hpp"

#include <simdjson.h>

#include <string>

#include "schema/text/json_text.hpp"

namespace mastotape::schema {
namespace {

// Events whose payload is a bare id rather than a JSON entity (mastodon-streaming.md section 5.1).
bool payload_is_bare_id(std::string_view event) {
    return event == "delete" || event == "announcement.delete";
}

// Fills `object_id` from a payload string. Returns false when an entity payload does not parse.
bool read_object_id(std::string_view event, std::string_view payload, FrameColumns& out) {
    if (payload_is_bare_id(event)) {
        out.object_id = std::string(payload);
        return true;
    }
    if (event == "notifications_merged") {
        return true;
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element entity;
    if (parser.parse(payload.data(), payload.size()).get(entity) != simdjson::SUCCESS) {
        return false;
    }
    simdjson::dom::object object;
    if (entity.get_object().get(object) != simdjson::SUCCESS) {
        return false;
    }
    // An announcement reaction names the announcement it belongs to.
    const char* key = event == "announcement.reaction" ? "announcement_id" : "id";
    std::string_view id;
    if (object[key].get_string().get(id) == simdjson::SUCCESS) {
        out.object_id = std::string(id);
    }
    return true;
}

FrameColumns classify_websocket_text(std::string_view bytes) {
    FrameColumns out;
    out.kind = FrameKind::text;
    out.parse_ok = false;
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(bytes.data(), bytes.size()).get(doc) != simdjson::SUCCESS) {
        return out;
    }
    simdjson::dom::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return out;
    }
    if (object["error"].error() == simdjson::SUCCESS) {
        out.kind = FrameKind::error;
        out.parse_ok = true;
        return out;
    }
    std::string_view event;
    simdjson::dom::array stream;
    std::string_view payload;
    if (object["event"].get_string().get(event) != simdjson::SUCCESS ||
        object["stream"].get_array().get(stream) != simdjson::SUCCESS ||
        object["payload"].get_string().get(payload) != simdjson::SUCCESS) {
        return out;
    }
    out.kind = FrameKind::event;
    out.event = std::string(event);
    out.stream = simdjson::to_string(stream);
    out.parse_ok = read_object_id(event, payload, out);
    return out;
}

// An SSE block: `event: X\n` and `data: Y\n` lines, ended by a blank line. Several data lines join
// with '\n' as the EventSource spec says.
FrameColumns classify_sse_block(std::string_view bytes, std::string_view sse_label) {
    FrameColumns out;
    if (!bytes.empty() && bytes.front() == ':') {
        out.kind = FrameKind::comment;
        return out;
    }
    out.kind = FrameKind::text;
    out.parse_ok = false;
    const SseFields fields = parse_sse_block(bytes);
    if (!fields.has_event || !fields.has_data) {
        return out;
    }
    out.kind = FrameKind::event;
    out.event = fields.event;
    if (!sse_label.empty()) {
        out.stream = std::string(sse_label);
    }
    out.parse_ok = read_object_id(fields.event, fields.data, out);
    return out;
}

}  // namespace

std::optional<std::string> entity_id(std::string_view json) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view id;
    if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS ||
        doc["id"].get_string().get(id) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    return std::string(id);
}

SseFields parse_sse_block(std::string_view bytes) {
    SseFields out;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::size_t end = bytes.find('\n', pos);
        if (end == std::string_view::npos) {
            end = bytes.size();
        }
        const std::string_view line = bytes.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line.front() == ':') {
            continue;
        }
        const std::size_t colon = line.find(':');
        const std::string_view field = line.substr(0, colon);
        std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
        if (field == "event") {
            out.event = value;
            out.has_event = true;
        } else if (field == "data") {
            if (out.has_data) {
                out.data += '\n';
            }
            out.data += value;
            out.has_data = true;
        }
    }
    return out;
}

std::string ws_envelope(std::string_view label, std::string_view event, std::string_view payload) {
    std::string out;
    out.reserve(label.size() + event.size() + payload.size() + 64);
    out += "{\"stream\":";
    out += label;
    out += ",\"event\":";
    append_json_string(out, event);
    out += ",\"payload\":";
    append_json_string(out, payload);
    out += "}";
    return out;
}

std::string sse_block(std::string_view event, std::string_view payload) {
    std::string out;
    out.reserve(event.size() + payload.size() + 16);
    out += "event: ";
    out += event;
    out += "\ndata: ";
    out += payload;
    out += "\n\n";
    return out;
}

std::optional<std::string> event_payload(Transport transport, std::string_view bytes) {
    if (transport == Transport::sse) {
        SseFields fields = parse_sse_block(bytes);
        return fields.has_data ? std::optional<std::string>(std::move(fields.data)) : std::nullopt;
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view payload;
    if (parser.parse(bytes.data(), bytes.size()).get(doc) != simdjson::SUCCESS ||
        doc["payload"].get_string().get(payload) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    return std::string(payload);
}

FrameColumns classify_text(Transport transport, std::string_view bytes,
                           std::string_view sse_label) {
    if (transport == Transport::sse) {
        return classify_sse_block(bytes, sse_label);
    }
    return classify_websocket_text(bytes);
}

FrameColumns control_columns(FrameKind kind) {
    FrameColumns out;
    out.kind = kind;
    return out;
}

bool is_text_kind(FrameKind kind) {
    return kind == FrameKind::event || kind == FrameKind::error || kind == FrameKind::text ||
           kind == FrameKind::comment;
}

bool is_sse_greeting(std::string_view bytes) { return bytes.substr(0, 2) == ":)"; }

bool is_heartbeat(FrameKind kind, std::string_view bytes) {
    return kind == FrameKind::ping || (kind == FrameKind::comment && !is_sse_greeting(bytes));
}

FrameColumns expected_columns(Transport transport, FrameKind kind, std::string_view bytes,
                              std::string_view sse_label) {
    if (is_text_kind(kind)) {
        return classify_text(transport, bytes, sse_label);
    }
    return control_columns(kind);
}

}  // namespace mastotape::schema
