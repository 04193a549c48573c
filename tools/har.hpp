#pragma once

// Sessions to and from HAR (HTTP Archive 1.2) files as browsers and mitmproxy write them.
//
// Import: one streaming entry becomes one session with one connection. A WebSocket entry carries
// its frames in `_webSocketMessages` (`type` send/receive, `time` in epoch seconds, `opcode`,
// `data`; binary data in base64): received frames become frames, sent ones client messages, times
// rebased on the entry's `startedDateTime` (kept to the microsecond). An SSE entry
// (`text/event-stream`) carries its body whole, with no time per event: its frames are split from
// the body and placed at the response's end, which the import says. The token never comes in: an
// `access_token` query parameter is dropped from the URL, a `Sec-WebSocket-Protocol` (which is
// how Mastodon's web UI sends it) is kept as "[token]", and cookies are left out.
//
// Export: one entry per connection (failed attempts too, with their status and headers), each
// WebSocket entry with its frames and client messages as `_webSocketMessages` (pings and pongs as
// opcodes 9 and 10, the server's close as 8), each SSE entry with its body, and how each ended in
// `_mastotapeEnd`, which import reads back. What HAR has no place for (gaps, backfill) stays in
// the tape.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/tape_store.hpp"

namespace mastotape::tools {

// Nanoseconds a microsecond: HAR keeps its times to the microsecond.
inline constexpr std::int64_t kUs = 1000;

struct HarImport {
    std::int64_t session_id = 0;
    std::size_t entry = 0;               // the index in log.entries imported
    std::vector<std::size_t> streaming;  // every streaming entry's index
    std::int64_t frames = 0;
    std::int64_t client_messages = 0;
    std::vector<std::string> notes;  // what the user should know about the result
};

// Reads the HAR in `text` (`name` in errors) and writes entry `entry` (default: the first
// streaming one) into `store` as a new session, in one transaction. Throws schema::TapeError with
// a one-line message for a file that is not a HAR, has no streaming entry, or whose entry is not
// one.
HarImport import_har(schema::TapeStore& store, const std::string& text, const std::string& name,
                     std::optional<std::size_t> entry);

void export_har(schema::TapeStore& store, std::int64_t session_id, std::ostream& out);

// The kind the tape gives a client message of WebSocket opcode `opcode` ("" for none), and back.
std::string opcode_name(int opcode);
int opcode_of(std::string_view kind);

}  // namespace mastotape::tools
