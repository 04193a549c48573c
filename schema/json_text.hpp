#pragma once

// JSON string escaping exactly as JavaScript's JSON.stringify does it (the Mastodon streaming
// server's serializer): `"`, `\` and control characters escaped, everything else literal.

#include <string>
#include <string_view>

namespace mastotape::schema {

// Appends `s` escaped, without quotes.
void append_json_escaped(std::string& out, std::string_view s);
// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

}  // namespace mastotape::schema
