#pragma once

// Derives a frame's query columns (kind, stream label, event name, object id) from its exact bytes.
// Used by the recorder on every incoming frame, by import to check a JSONL line, and by verify.
// The bytes are never changed; a frame that does not parse keeps `parse_ok == false`.

#include <string_view>

#include "schema/model.hpp"

namespace mastotape::schema {

// Classifies a text frame (WebSocket) or an SSE block (`event: X\ndata: Y\n\n`, or a comment line
// starting with ':'). `sse_label` is the stream label of the SSE request, since SSE events carry
// none; it is ignored for WebSocket. Thread-safe (per-thread parsers).
FrameColumns classify_text(Transport transport, std::string_view bytes, std::string_view sse_label);

// Columns of a non-text WebSocket frame (`binary`, `ping`, `pong`).
FrameColumns control_columns(FrameKind kind);

// True for kinds whose bytes are text frames or SSE blocks, i.e. those classify_text produces.
bool is_text_kind(FrameKind kind);

// The columns a frame of `kind` with `bytes` must have: classify_text for text kinds,
// control_columns otherwise.
FrameColumns expected_columns(Transport transport, FrameKind kind, std::string_view bytes,
                              std::string_view sse_label);

}  // namespace mastotape::schema
