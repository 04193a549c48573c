// `mastotape plot` from the command line: formats, outputs and errors. The pictures themselves
// are checked in a browser (tests/e2e/browser/plot_test.mjs).

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/test_support.hpp"

using mastotape::test::run_mastotape;
using mastotape::test::TempDir;

TEST_CASE("plot writes SVG or HTML by the output's extension or --format") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 50 -q --db t.db", dir).exit_code == 0);

    auto r = run_mastotape("plot --db t.db -o s.svg", dir);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("plotted session 1 (50 events"));
    CHECK(mastotape::test::read_file(dir.file("s.svg")).rfind("<svg xmlns=", 0) == 0);

    r = run_mastotape("plot --db t.db -o p.html", dir);
    REQUIRE(r.exit_code == 0);
    const std::string page = mastotape::test::read_file(dir.file("p.html"));
    CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK_THAT(page, Catch::Contains("<svg xmlns="));
    CHECK_THAT(page, !Catch::Contains("mastotape:data") && !Catch::Contains("mastotape:svg"));

    r = run_mastotape("plot 1 --db t.db --format svg -o -", dir);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.rfind("<svg xmlns=", 0) == 0);
    CHECK(r.err.empty());
}

TEST_CASE("plot refuses what it cannot do in one line, and leaves no file") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 10 -q --db t.db", dir).exit_code == 0);

    auto r = run_mastotape("plot --db t.db -o picture.png", dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("-o FILE.svg, -o FILE.html or --format svg|html"));
    CHECK_FALSE(std::filesystem::exists(dir.file("picture.png")));

    r = run_mastotape("plot --db t.db -o missing/p.svg", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("missing/p.svg: cannot write"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

    r = run_mastotape("plot 7 --db t.db -o p.svg", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("no session 7"));
    CHECK_FALSE(std::filesystem::exists(dir.file("p.svg")));
}

TEST_CASE("plot draws a session without events with a plain axis") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 0 -q --db t.db", dir).exit_code == 0);
    const auto r = run_mastotape("plot --db t.db -o s.svg", dir);
    REQUIRE(r.exit_code == 0);
    const std::string svg = mastotape::test::read_file(dir.file("s.svg"));
    CHECK_THAT(svg, Catch::Contains("font-size=\"10\">1</text>"));
    CHECK(svg.find("e-10") == std::string::npos);  // not an axis of 2e-10 events/s
}
