#include "schema/mastodon/iso_time.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace mastotape::schema {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// The calendar fields of a time, and what is left below the second in nanoseconds.
struct Civil {
    std::tm tm{};
    std::int64_t sub_ns = 0;
};

Civil civil(std::int64_t wall_ns) {
    Civil c;
    std::int64_t secs = wall_ns / kSec;
    c.sub_ns = wall_ns % kSec;
    if (c.sub_ns < 0) {  // before 1970: the second before, and a positive fraction
        --secs;
        c.sub_ns += kSec;
    }
    const auto t = static_cast<std::time_t>(secs);
    ::gmtime_r(&t, &c.tm);
    return c;
}

// YYYY-MM-DDTHH:MM:SS, then `fraction` in `digits` digits and Z.
std::string date_time(const std::tm& tm, int digits, long long fraction) {
    char out[64];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%0*lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, digits, fraction);
    return out;
}

// The `n` digits of `text` at `at` as a number; nullopt when any is missing or not a digit.
std::optional<int> digits(std::string_view text, std::size_t at, std::size_t n) {
    if (at + n > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t k = at; k < at + n; ++k) {
        if (!std::isdigit(static_cast<unsigned char>(text[k]))) {
            return std::nullopt;
        }
        value = value * 10 + (text[k] - '0');
    }
    return value;
}

}  // namespace

std::int64_t utc_seconds(int year, int month, int day, int hour, int minute, int second) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return static_cast<std::int64_t>(::timegm(&tm));
}

std::string format_iso_us(std::int64_t wall_ns) {
    const Civil c = civil(wall_ns);
    return date_time(c.tm, 6, static_cast<long long>(c.sub_ns / 1000));
}

std::string format_iso_ms(std::int64_t wall_ns) {
    const Civil c = civil(wall_ns);
    return date_time(c.tm, 3, static_cast<long long>(c.sub_ns / 1'000'000));
}

std::string format_iso_date(std::int64_t wall_ns) { return format_iso_ms(wall_ns).substr(0, 10); }

std::string http_date(std::int64_t wall_ns) {
    static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const Civil c = civil(wall_ns);
    char out[40];
    std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                  kDays.at(static_cast<std::size_t>(c.tm.tm_wday)), c.tm.tm_mday,
                  kMonths.at(static_cast<std::size_t>(c.tm.tm_mon)), c.tm.tm_year + 1900,
                  c.tm.tm_hour, c.tm.tm_min, c.tm.tm_sec);
    return out;
}

std::optional<std::int64_t> parse_iso_seconds(std::string_view text) {
    if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    const auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    const auto h = digits(text, 11, 2), mi = digits(text, 14, 2), sec = digits(text, 17, 2);
    if (!y || !mo || !d || !h || !mi || !sec) {
        return std::nullopt;
    }
    return utc_seconds(*y, *mo, *d, *h, *mi, *sec);
}

std::optional<std::int64_t> parse_iso(std::string_view text) {
    const auto secs_local = parse_iso_seconds(text);
    if (!secs_local) {
        return std::nullopt;
    }
    std::size_t at = 19;
    std::int64_t frac_ns = 0;
    if (at < text.size() && text[at] == '.') {
        std::int64_t scale = 100'000'000;
        for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at) {
            frac_ns += (text[at] - '0') * scale;
            scale /= 10;
        }
    }
    std::int64_t offset_s = 0;
    if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
        const auto oh = digits(text, at + 1, 2), om = digits(text, at + 4, 2);
        if (!oh || !om || text[at + 3] != ':' || text.size() != at + 6) {
            return std::nullopt;
        }
        offset_s = (text[at] == '+' ? 1 : -1) * (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60);
    } else if (at + 1 != text.size() || text[at] != 'Z') {
        return std::nullopt;
    }
    const std::int64_t secs = *secs_local - offset_s;
    // Nanoseconds since 1970 in 64 bits: the years 1678 to 2262.
    if (secs < -9'223'372'035 || secs > 9'223'372'035) {
        return std::nullopt;
    }
    return secs * kSec + frac_ns;
}

}  // namespace mastotape::schema
