#pragma once

// Encodings for exact bytes inside JSON text: valid UTF-8 goes in as a JSON string, anything else
// as base64.

#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

bool is_valid_utf8(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);
// Shortens bytes for one-line display, escaping newlines and control bytes ("…" when cut).
std::string preview(std::string_view bytes, std::size_t max_chars);

}  // namespace mastotape::schema
