#pragma once

// Sessions to and from HAR (HTTP Archive 1.2) files as browsers and mitmproxy write them.
//
// Import: the streaming entries of one origin become one session, an entry a connection in time
// order, with a gap after each connection that ended before the capture did (failed attempts
// inside it) and the timeline and notification pages fetched in a gap as its backfill; `--entry
// N` takes one entry as a session of its own. A WebSocket entry carries
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
// opcodes 9 and 10, the server's close as 8), each SSE entry with its body, then one GET entry per
// backfill page with the items' bytes. What HAR has no field for import reads back from
// mastotape's own: how each connection ended (`_mastotapeEnd`), the backfill outcome of the gap
// it opened and the gap a page belongs to (`_mastotapeGap`), each SSE event's time
// (`_mastotapeFrameTimes`). `diff` finds an exported and imported session equal.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// Nanoseconds a microsecond: HAR keeps its times to the microsecond.
inline constexpr std::int64_t kUs = 1000;

struct HarImport {
    std::int64_t session_id = 0;
    std::vector<std::size_t> entries;    // the indexes in log.entries imported, in file order
    std::vector<std::size_t> streaming;  // every streaming entry's index
    std::int64_t frames = 0;
    std::int64_t client_messages = 0;
    std::int64_t gaps = 0;
    std::int64_t backfilled = 0;
    std::vector<std::string> notes;  // what the user should know about the result
};

// Reads the HAR in `text` (`name` in errors) and writes its streaming entries of the first one's
// origin (or entry `entry` alone) into `store` as a new session, in one transaction. Throws
// schema::TapeError with a one-line message for a file that is not a HAR, has no streaming entry,
// or whose entry is not one, or that makes a session verify would refuse.
HarImport import_har(schema::TapeStore& store, const std::string& text, const std::string& name,
                     std::optional<std::size_t> entry);

void export_har(schema::TapeStore& store, std::int64_t session_id, std::ostream& out);

// The kind of a WebSocket message of opcode `opcode` (nullopt for none), and back.
std::optional<MessageKind> kind_of_opcode(int opcode);
int opcode_of(MessageKind kind);

}  // namespace mastotape::schema
