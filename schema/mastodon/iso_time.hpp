#pragma once

// UTC calendar times as ISO 8601 text: what HAR files, Mastodon's entities and the redactor's
// time shift read and write.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

// Seconds since the Unix epoch of a UTC calendar time (month 1-12).
std::int64_t utc_seconds(int year, int month, int day, int hour, int minute, int second);

// Unix nanoseconds as ISO 8601 in UTC to the microsecond (2026-11-30T09:15:02.123456Z), and back
// (any number of fraction digits, `Z` or a `+hh:mm`/`-hh:mm` offset); nullopt for anything else.
std::string format_iso_us(std::int64_t wall_ns);
std::optional<std::int64_t> parse_iso(std::string_view text);

}  // namespace mastotape::schema
