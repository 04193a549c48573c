// Mastodon's heartbeats, written once in schema/mastodon/heartbeats.hpp, and the tapes synth
// makes keep them.

#include "schema/mastodon/heartbeats.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include "schema/ops/synth.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::TempDir;

namespace {

// The offsets of `kind` frames in a synthesized session of about four minutes over `transport`.
std::vector<std::int64_t> heartbeat_offsets(Transport transport, FrameKind kind) {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    SynthOptions o;
    o.transport = transport;
    o.events = 120;
    o.rate = 0.5;
    const auto id = synthesize(store, o);
    std::vector<std::int64_t> out;
    auto cursor = store.frames_from_seq(id, 1);
    Frame f;
    while (cursor.next(f)) {
        if (f.columns.kind == kind && (kind != FrameKind::comment || f.bytes != ":)\n")) {
            out.push_back(f.offset_ns);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("Mastodon's heartbeats are written once, and synthesized tapes keep their periods") {
    // ../shared/mastodon-streaming.md: a ping every 30 s, a `:thump` every 15 s.
    CHECK(kPingIntervalNs == 30'000'000'000);
    CHECK(kThumpIntervalNs == 15'000'000'000);
    const struct {
        Transport transport;
        std::int64_t timeout_ns;
    } defaults[] = {{Transport::websocket, 75'000'000'000}, {Transport::sse, 40'000'000'000}};
    for (const auto& d : defaults) {
        CHECK(default_heartbeat_timeout_ns(d.transport) == d.timeout_ns);
    }
    const auto pings = heartbeat_offsets(Transport::websocket, FrameKind::ping);
    REQUIRE(pings.size() >= 6);
    for (std::size_t i = 1; i < pings.size(); ++i) {
        CHECK(pings[i] - pings[i - 1] >= kPingIntervalNs);
        CHECK(pings[i] - pings[i - 1] < kPingIntervalNs + 3'000'000);  // and its jitter
    }
    const auto thumps = heartbeat_offsets(Transport::sse, FrameKind::comment);
    REQUIRE(thumps.size() >= 12);
    for (std::size_t i = 1; i < thumps.size(); ++i) {
        CHECK(thumps[i] - thumps[i - 1] == kThumpIntervalNs);
    }
}
