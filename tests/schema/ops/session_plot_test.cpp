#include "schema/ops/session_plot.hpp"

#include <catch2/catch.hpp>
#include <numeric>

#include "schema/ops/synth.hpp"
#include "tests/test_support.hpp"
#include "tools/plot_svg.hpp"

using namespace mastotape::schema;
using mastotape::test::kMs;
using mastotape::test::kSec;
using mastotape::test::TempDir;

namespace {

std::int64_t synth(TapeStore& store, std::int64_t events, double rate) {
    SynthOptions o;
    o.events = events;
    o.rate = rate;
    o.connection_ends = {"eof", "heartbeat-timeout"};
    return synthesize(store, o);
}
}  // namespace

TEST_CASE("Plot bins follow a 1-2-5 ladder and fit the bins asked for") {
    CHECK(choose_bin_ns(0, 600) == 10 * kMs);
    CHECK(choose_bin_ns(5 * kSec, 600) == 10 * kMs);
    CHECK(choose_bin_ns(60 * kSec, 600) == 200 * kMs);
    CHECK(choose_bin_ns(7 * 86400 * kSec, 600) == 1800 * kSec);
    for (const std::int64_t length : {kSec, 3600 * kSec, 86400 * kSec, 900 * 86400 * kSec}) {
        CHECK(length / choose_bin_ns(length, 600) < 600);
    }
}

TEST_CASE("A plot of a short session holds every frame, its records and its event rate") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    const std::int64_t id = synth(store, 300, 20);
    PlotOptions o;
    o.frame_bytes = true;
    const PlotData d = load_plot(store, id, o);
    const SessionCounts counts = store.counts(id);
    CHECK(d.single_frames);
    REQUIRE(d.frames.size() == static_cast<std::size_t>(counts.frames));
    CHECK(d.frames.front().bytes.size() > 0);
    CHECK(d.connections.size() == static_cast<std::size_t>(counts.connections));
    CHECK(d.gaps.size() == 2);
    CHECK(d.backfill.size() == static_cast<std::size_t>(counts.backfilled));
    CHECK(d.backfill.front().body.empty());  // the index only
    CHECK(d.length_ns >= counts.last_offset_ns);
    // The bins add up to the events, by event name too.
    std::int64_t total = 0;
    std::vector<std::int64_t> by_event(d.event_names.size(), 0);
    for (const RateBin& b : d.bins) {
        CHECK(b.total == std::accumulate(b.by_event.begin(), b.by_event.end(), std::int64_t{0}));
        total += b.total;
        for (std::size_t e = 0; e < by_event.size(); ++e) {
            by_event[e] += b.by_event[e];
        }
    }
    CHECK(total == counts.events);
    for (std::size_t e = 0; e < d.event_names.size(); ++e) {
        CHECK(by_event[e] == counts.by_event.at(d.event_names[e]));
        if (e > 0) {
            CHECK(by_event[e] <= by_event[e - 1]);  // largest first
        }
    }
}

TEST_CASE("A plot of a long session is binned, with one sample frame a bin") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    const std::int64_t id = synth(store, 3000, 5);
    PlotOptions o;
    o.max_single_frames = 100;
    o.max_bins = 50;
    const PlotData d = load_plot(store, id, o);
    CHECK_FALSE(d.single_frames);
    CHECK(d.length_ns / d.bin_ns < 50);
    REQUIRE(d.frames.size() == d.bins.size());
    for (std::size_t i = 0; i < d.bins.size(); ++i) {
        const PlotFrame& f = d.frames[i];
        CHECK(f.seq == d.bins[i].sample_seq);
        CHECK(f.kind == FrameKind::event);
        CHECK(f.offset_ns / d.bin_ns == d.bins[i].index);
        CHECK(f.bytes.empty());  // not asked for
    }
}

TEST_CASE("The SVG of a session escapes what the tape holds") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.events = 20;
    o.label = "a <b> & \"c\"\x01";
    o.connection_ends = {"close"};
    const std::int64_t id = synthesize(store, o);
    const std::string svg = mastotape::tools::render_plot_svg(load_plot(store, id, {}));
    CHECK(svg.find("a &lt;b&gt; &amp; &quot;c&quot;\\x01") != std::string::npos);
    CHECK(svg.find("<b>") == std::string::npos);
    CHECK(svg.find('\x01') == std::string::npos);
}

TEST_CASE("Time ticks are labelled in at most two units") {
    using mastotape::tools::time_tick_label;
    CHECK(time_tick_label(0, kSec) == "0");
    CHECK(time_tick_label(250 * kMs, 250 * kMs) == "250ms");
    CHECK(time_tick_label(1500 * kMs, 500 * kMs) == "1.5s");
    CHECK(time_tick_label(30 * kSec, 15 * kSec) == "30s");
    CHECK(time_tick_label(90 * kSec, 30 * kSec) == "1m30s");
    CHECK(time_tick_label(3 * 3600 * kSec, 3600 * kSec) == "3h");
    CHECK(time_tick_label(5400 * kSec, 1800 * kSec) == "1h30m");
    CHECK(time_tick_label(30 * 3600 * kSec, 6 * 3600 * kSec) == "1d6h");
}
