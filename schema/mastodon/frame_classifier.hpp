#pragma once

// Derives a frame's query columns (kind, stream label, event name, object id) from its exact bytes.
// Used by the recorder on every incoming frame, by import to check a JSONL line, and by verify.
// The bytes are never changed; a frame that does not parse keeps `parse_ok == false`.

#include <optional>
#include <string>
#include <string_view>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

// Classifies a text frame (WebSocket) or an SSE block (`event: X\ndata: Y\n\n`, or a comment line
// starting with ':'). `sse_label` is the stream label of the SSE request, since SSE events carry
// none; it is ignored for WebSocket. Thread-safe (per-thread parsers).
FrameColumns classify_text(Transport transport, std::string_view bytes, std::string_view sse_label);

// Columns of a non-text WebSocket frame (`binary`, `ping`, `pong`).
FrameColumns control_columns(FrameKind kind);

// True for kinds whose bytes are text frames or SSE blocks, i.e. those classify_text produces.
bool is_text_kind(FrameKind kind);

// The `:)` an SSE response opens with: a comment, not a heartbeat.
bool is_sse_greeting(std::string_view bytes);
// Whether a frame is a server heartbeat: a WebSocket ping, or an SSE comment (`:thump`) other
// than the greeting.
bool is_heartbeat(FrameKind kind, std::string_view bytes);
// is_sse_greeting in SQL, over the frames table's `kind` and `bytes`: a heartbeat is a frame of
// kind ping or comment that is not one.
inline constexpr const char* kIsSseGreetingSql =
    "(kind = 'comment' AND substr(CAST(bytes AS TEXT), 1, 2) = ':)')";

// The columns a frame of `kind` with `bytes` must have: classify_text for text kinds,
// control_columns otherwise.
FrameColumns expected_columns(Transport transport, FrameKind kind, std::string_view bytes,
                              std::string_view sse_label);

// The top-level string `id` of a JSON entity (a REST item); nullopt when it has none.
std::optional<std::string> entity_id(std::string_view json);

// The fields of an SSE block (`event: X\ndata: Y\n\n`); several data lines join with '\n'.
struct SseFields {
    std::string event;
    std::string data;
    bool has_event = false;
    bool has_data = false;
};
SseFields parse_sse_block(std::string_view bytes);

// An event as Mastodon's streaming server writes it, the reverse of the above. On a WebSocket:
// {"stream":LABEL,"event":EVENT,"payload":PAYLOAD} with `label` compact JSON (["hashtag","rust"])
// and event and payload as JSON strings. On SSE: "event: EVENT\ndata: PAYLOAD\n\n", the payload
// written as it is (Mastodon's payloads are one line).
std::string ws_envelope(std::string_view label, std::string_view event, std::string_view payload);
std::string sse_block(std::string_view event, std::string_view payload);

// The payload of an event frame as the entity's JSON text (or bare id): the envelope's `payload`
// string unescaped (WebSocket) or the `data:` lines (SSE). nullopt for anything else.
std::optional<std::string> event_payload(Transport transport, std::string_view bytes);

}  // namespace mastotape::schema
