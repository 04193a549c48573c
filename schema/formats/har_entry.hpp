#pragma once

// import-har's first half: one streaming entry of a HAR (a WebSocket with its messages, or an
// event stream with its body) read as a session of one connection; see har.hpp for what is kept
// and what is left out. And the few ways of looking at a HAR's JSON both halves share.

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// One streaming entry read: a session of one connection; or, once joined, several. Its records
// are kept by kind, numbered as they will be stored, for the join to renumber and rebase.
struct HarDraft {
    schema::Session session;
    std::vector<Connection> connections;
    std::vector<Frame> frames;
    std::vector<ClientMessage> client_messages;
    std::vector<Gap> gaps;
    std::vector<BackfillItem> backfill;
    std::vector<std::string> notes;
    // mastotape's `_mastotapeGap`: the outcome of the backfill of the gap the connection's end
    // opened, which a HAR has no field for.
    std::optional<schema::BackfillStatus> gap_status;
    std::string gap_error;

    // Its records as one batch for session `session_id`, which they are moved into.
    Batch take_batch(std::int64_t session_id);
};

// Reads entry `entry` (number `index` of the HAR `name`, for errors). Throws TapeError with a
// one-line message for what it cannot read.
HarDraft read_har_entry(const nlohmann::json& entry, std::size_t index, const std::string& name);

// A string member of `j`, or "".
std::string text_of(const nlohmann::json& j, const char* key);
// A member of `j`, or null.
const nlohmann::json& member(const nlohmann::json& j, const char* key);
// Whether an entry is a WebSocket (its messages, its resource type or its URL say so).
bool is_websocket(const nlohmann::json& e);
// Whether an entry's response is an event stream.
bool is_event_stream(const nlohmann::json& e);

}  // namespace mastotape::schema
