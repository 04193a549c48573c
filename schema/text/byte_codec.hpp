#pragma once

// Encodings for exact bytes inside JSON text: valid UTF-8 goes in as a JSON string, anything else
// as base64.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

bool is_valid_utf8(std::string_view bytes);
// `bytes` with each byte that is not part of a UTF-8 sequence replaced by U+FFFD: text that may
// be anything (a client's query, a tape's label) made fit for a JSON answer.
std::string valid_utf8(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);
// Bytes made safe to print on a terminal, on one line: control characters (C0, DEL, C1) and
// bytes that are not UTF-8 as \xNN, a newline as \n; the rest as it is. Cut after about
// `max_chars` bytes of output, with "…".
std::string printable(std::string_view bytes,
                      std::size_t max_chars = std::numeric_limits<std::size_t>::max());
// printable(), shortened for one-line display.
std::string preview(std::string_view bytes, std::size_t max_chars);

}  // namespace mastotape::schema
