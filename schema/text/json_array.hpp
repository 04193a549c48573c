#pragma once

// Exact-bytes helpers for JSON arrays of entities (REST pages): the raw text of each element, so
// a backfilled item is stored as the server sent it, never re-serialized.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mastotape::schema {

// The raw text of each top-level element of a JSON array (whitespace around elements dropped);
// nullopt when `text` is not a well-formed array.
std::optional<std::vector<std::string_view>> split_json_array(std::string_view text);

// Compares Mastodon ids (decimal strings of any length) as numbers: <0, 0, >0.
int compare_ids(std::string_view a, std::string_view b);

}  // namespace mastotape::schema
