// The replayer's send-lateness figures: exact to the µs below 10 ms, to the ms beyond.

#include "replay/report/lateness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace mastotape;
using namespace std::chrono_literals;

TEST_CASE("Send lateness percentiles are microseconds below 10 ms and milliseconds up to 10 s") {
    replay::Lateness l;
    CHECK(l.percentile_us(0.5) == 0);
    for (int i = 0; i < 60; ++i) {
        l.add(5us + 300ns);
    }
    for (int i = 0; i < 39; ++i) {
        l.add(std::chrono::microseconds(9'999));
    }
    l.add(-3ms);  // early counts as on time
    CHECK(l.frames() == 100);
    CHECK(l.percentile_us(0.50) == 5);
    CHECK(l.percentile_us(0.99) == 9'999);
    CHECK(l.percentile_us(1.0) == 9'999);

    // A saturated replayer: most frames tens of ms late, one far beyond 10 s.
    replay::Lateness late;
    for (int i = 0; i < 98; ++i) {
        late.add(std::chrono::microseconds(42'700));
    }
    late.add(250ms);
    late.add(25s);
    CHECK(late.percentile_us(0.50) == 42'000);
    CHECK(late.percentile_us(0.99) == 250'000);
    CHECK(late.percentile_us(1.0) == 10'000'000);  // beyond the histogram: its top
    const nlohmann::ordered_json j = late.json();
    CHECK(j.at("frames") == 100);
    CHECK(j.at("p50_us") == 42'000);
    CHECK(j.at("p99_us") == 250'000);
    CHECK(j.at("max_us").get<double>() == 25'000'000.0);  // exact
}
