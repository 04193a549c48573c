#pragma once

// A document a user writes for the replayer (`--stub`, `--expect`, and their control API
// routes): JSON, or YAML, which most people write such files in. Either is read into JSON: a YAML
// plain scalar that reads as an integer, a number, true/false or null is one; a quoted scalar is
// a string.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mastotape::replay {

// Throws std::runtime_error with one line: "ORIGIN: line N: what is wrong".
nlohmann::ordered_json parse_user_document(std::string_view text, const std::string& origin);
// The file at `path`; throws std::runtime_error naming it when it cannot be read or parsed.
nlohmann::ordered_json load_user_document(const std::string& path);

// "WHERE.KEY": where a member of a document is, for an error.
std::string member_at(const std::string& where, std::string_view key);

// One line saying what `doc` is, for an error: "a string", "an object"...
std::string json_kind(const nlohmann::ordered_json& doc);

}  // namespace mastotape::replay
