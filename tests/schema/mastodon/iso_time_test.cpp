#include "schema/mastodon/iso_time.hpp"

#include <catch2/catch.hpp>

using namespace mastotape::schema;

TEST_CASE("ISO 8601 times read and write to the microsecond") {
    CHECK(format_iso_us(1'796'030'102'123'456'789) == "2026-11-30T09:15:02.123456Z");
    CHECK(parse_iso("2026-11-30T09:15:02.123456Z") == 1'796'030'102'123'456'000);
    CHECK(parse_iso("2026-11-30T09:15:02Z") == 1'796'030'102'000'000'000);
    CHECK(parse_iso("2026-11-30T10:15:02.5+01:00") == 1'796'030'102'500'000'000);
    CHECK_FALSE(parse_iso("2026-11-30 09:15:02Z"));
    CHECK_FALSE(parse_iso("yesterday"));
    CHECK_FALSE(parse_iso("2026-11-30T09:15:02.1Zjunk"));
}

TEST_CASE("Each form of a UTC time is written one way") {
    const std::int64_t t = 1'796'030'102'123'456'789;  // 2026-11-30T09:15:02.123456789Z, a Monday
    CHECK(format_iso_ms(t) == "2026-11-30T09:15:02.123Z");
    CHECK(format_iso_date(t) == "2026-11-30");
    CHECK(http_date(t) == "Mon, 30 Nov 2026 09:15:02 GMT");
    CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    // Before 1970 the fraction still counts up from the second before.
    CHECK(format_iso_ms(-1'000'000) == "1969-12-31T23:59:59.999Z");
    CHECK(format_iso_us(-1'000'000) == "1969-12-31T23:59:59.999000Z");
    // Every field in range and back: leap day, year end.
    for (const char* iso :
         {"2024-02-29T23:59:59.000Z", "2025-12-31T00:00:00.500Z", "1999-01-01T12:34:56.789Z"}) {
        INFO(iso);
        CHECK(format_iso_ms(*parse_iso(iso)) == iso);
    }
}

TEST_CASE("The leading date and time of an ISO text read as UTC whatever follows") {
    CHECK(parse_iso_seconds("2026-11-30T09:15:02") == 1'796'030'102);
    CHECK(parse_iso_seconds("2026-11-30T09:15:02.123456+05:00") == 1'796'030'102);
    for (const char* bad : {"", "2026-11-30", "2026-11-30 09:15:02", "2026-1x-30T09:15:02",
                            "+026-11-30T09:15:02", "2026-11-30T09:15:0"}) {
        INFO(bad);
        CHECK_FALSE(parse_iso_seconds(bad));
    }
    CHECK_FALSE(parse_iso("2026-11-30T09:15:02+05"));
    CHECK_FALSE(parse_iso("2026-11-30T09:15:02+05:0x"));
    CHECK(parse_iso("2026-11-30T04:15:02-05:00") == parse_iso("2026-11-30T09:15:02Z"));
}
