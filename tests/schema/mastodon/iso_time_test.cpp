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
