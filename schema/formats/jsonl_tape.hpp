#pragma once

// The JSONL tape: one session as text, one JSON record per line, for export/import and fixtures.
//
// Line 1 is the header `{"mastotape":"tape","version":1,"session":{...}}`; then one record per
// line in timeline order (connection, gap, client, frame, backfill), each with a `type` key and
// keys in a fixed order. Exact bytes are a `text` string when they are valid UTF-8 and a `base64`
// string otherwise. A frame's `event`, `stream` and `id` keys (and `unparsed`) are derived from
// its bytes; import checks them, so a fixture cannot disagree with itself.
// export_session(import_jsonl(x)) == x byte for byte for any x that export produced.

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "schema/tape/tape_store.hpp"
#include "schema/tape/timeline.hpp"

namespace mastotape::schema {

inline constexpr int kJsonlVersion = 1;

// Writes one session. Memory stays flat: frames stream from the store.
void export_session(TapeStore& store, std::int64_t session_id, std::ostream& out);

// The header line of a session's JSONL tape.
std::string header_jsonl(const Session& s);

// A record's `type` in JSONL: "connection", "gap", "client", "frame" or "backfill".
std::string_view jsonl_type(const Record& r);
// A record's JSONL line.
std::string to_jsonl(const Record& r);
// The JSONL line of a timeline entry: connections and gaps at their start hold their ends, so
// connection_ended and gap_ended give "".
std::string to_jsonl(const TimelineEntry& e);

// Reads a whole JSONL tape into a new session in one transaction and returns its id. Any bad line
// throws TapeError("NAME:LINE: reason") and leaves the store unchanged.
std::int64_t import_jsonl(TapeStore& store, std::istream& in, const std::string& name);

}  // namespace mastotape::schema
