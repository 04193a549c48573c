#include "schema/mastodon/iso_time.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace mastotape::schema {

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
    const std::time_t secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(wall_ns % 1'000'000'000 / 1000));
    return out;
}

std::optional<std::int64_t> parse_iso(std::string_view text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
    const std::string str(text);
    if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) !=
            6 ||
        used != 19) {
        return std::nullopt;
    }
    std::size_t at = 19;
    std::int64_t frac_ns = 0;
    if (at < str.size() && str[at] == '.') {
        std::int64_t scale = 100'000'000;
        for (++at; at < str.size() && std::isdigit(static_cast<unsigned char>(str[at])); ++at) {
            frac_ns += (str[at] - '0') * scale;
            scale /= 10;
        }
    }
    std::int64_t offset_s = 0;
    if (at < str.size() && (str[at] == '+' || str[at] == '-')) {
        int oh = 0, om = 0;
        if (std::sscanf(str.c_str() + at + 1, "%2d:%2d", &oh, &om) != 2 || str.size() != at + 6) {
            return std::nullopt;
        }
        offset_s = (str[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else if (at + 1 != str.size() || str[at] != 'Z') {
        return std::nullopt;
    }
    const std::int64_t secs = utc_seconds(y, mo, d, h, mi, s) - offset_s;
    // Nanoseconds since 1970 in 64 bits: the years 1678 to 2262.
    if (secs < -9'223'372'035 || secs > 9'223'372'035) {
        return std::nullopt;
    }
    return secs * 1'000'000'000 + frac_ns;
}

}  // namespace mastotape::schema
