#pragma once

// JSON string escaping exactly as JavaScript's JSON.stringify does it (the Mastodon streaming
// server's serializer): `"`, `\` and control characters escaped, everything else literal.

#include <cstdint>
#include <string>
#include <string_view>

namespace mastotape::schema {

// Appends `s` escaped, without quotes.
void append_json_escaped(std::string& out, std::string_view s);
// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

// Mastodon's error body, {"error":"<message>"}: the message escaped (and made valid UTF-8).
std::string error_json(std::string_view message);

// A version 4 UUID (X-Request-Id) from 128 random bits, as 8-4-4-4-12 lowercase hex.
std::string format_uuid_v4(std::uint64_t high, std::uint64_t low);

}  // namespace mastotape::schema
