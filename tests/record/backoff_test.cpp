#include "record/backoff.hpp"

#include <catch2/catch.hpp>
#include <vector>

using mastotape::record::Backoff;
using mastotape::record::backoff_delay_s;

TEST_CASE("Backoff delays grow exponentially up to the cap, with full jitter") {
    CHECK(backoff_delay_s(1, 60, 0, 0.5) == Approx(0.5));
    CHECK(backoff_delay_s(1, 60, 3, 1.0) == Approx(8));
    CHECK(backoff_delay_s(1, 60, 10, 1.0) == Approx(60));
    CHECK(backoff_delay_s(1, 60, 10, 0.0) == Approx(0));
    CHECK(backoff_delay_s(0.1, 6, 5, 1.0) == Approx(3.2));
    CHECK(backoff_delay_s(1, 60, 1000, 1.0) == Approx(60));  // no overflow far out
}

TEST_CASE("A backoff schedule stays under each attempt's ceiling and starts over on reset") {
    Backoff b(1, 60, 42);
    std::vector<double> first;
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double d = b.next_delay_s();
        const double ceiling = std::min(60.0, static_cast<double>(1 << attempt));
        CHECK(d >= 0);
        CHECK(d < ceiling);
        first.push_back(d);
    }
    CHECK(b.failures() == 10);
    b.reset();
    CHECK(b.failures() == 0);
    CHECK(b.next_delay_s() < 1.0);
}

TEST_CASE("The same seed gives the same schedule, another seed another one") {
    Backoff a(1, 60, 7);
    Backoff b(1, 60, 7);
    Backoff c(1, 60, 8);
    bool differs = false;
    for (int i = 0; i < 8; ++i) {
        const double x = a.next_delay_s();
        CHECK(x == b.next_delay_s());
        differs = differs || x != c.next_delay_s();
    }
    CHECK(differs);
}
