#pragma once

// UTC calendar times as text, written once: ISO 8601 as Mastodon's entities, HAR files, the
// rate-limit headers and the CLI write it, and HTTP dates as Node writes `Date`. No locale, no
// time zone: UTC throughout.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

// Seconds since the Unix epoch of a UTC calendar time (month 1-12).
std::int64_t utc_seconds(int year, int month, int day, int hour, int minute, int second);

// Unix nanoseconds as ISO 8601 in UTC: to the microsecond (2026-11-30T09:15:02.123456Z, the
// rate-limit headers and HAR), to the millisecond (2026-11-30T09:15:02.123Z, Mastodon's
// entities), or the date alone (2026-11-30, an account's last_status_at).
std::string format_iso_us(std::int64_t wall_ns);
std::string format_iso_ms(std::int64_t wall_ns);
std::string format_iso_date(std::int64_t wall_ns);
// Unix nanoseconds as an HTTP date (RFC 9110 IMF-fixdate): "Mon, 07 Dec 2026 13:30:54 GMT".
std::string http_date(std::int64_t wall_ns);

// ISO 8601 text as Unix nanoseconds: any number of fraction digits, `Z` or a `+hh:mm`/`-hh:mm`
// offset; nullopt for anything else or a time outside 1678-2262.
std::optional<std::int64_t> parse_iso(std::string_view text);
// The leading "YYYY-MM-DDTHH:MM:SS" of `text` as Unix seconds, read as UTC whatever follows;
// nullopt when it is not there.
std::optional<std::int64_t> parse_iso_seconds(std::string_view text);

}  // namespace mastotape::schema
