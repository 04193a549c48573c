#include "schema/ops/session_stats.hpp"

#include <catch2/catch.hpp>

#include "schema/mastodon/frame_classifier.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::kSec;
using mastotape::test::TempDir;

TEST_CASE("Stats count events by type, rates, heartbeat intervals and gaps") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    Session s;
    s.source = "wss://example.social";
    s.subscriptions = {{"user", ""}};
    s.ended_wall_ns = 10 * kSec;
    s.ended_offset_ns = 10 * kSec;
    const auto id = store.create_session(s);
    Batch b;
    b.session_id = id;
    for (int i = 0; i < 2; ++i) {
        Connection c;
        c.session_id = id;
        c.idx = i;
        c.started_offset_ns = i * 6 * kSec;
        c.ended_offset_ns = i == 0 ? 4 * kSec : 10 * kSec;
        c.end_cause = i == 0 ? EndCause::eof : EndCause::local_stop;
        b.records.push_back(c);
    }
    std::int64_t seq = 0;
    auto add = [&](std::int64_t conn, std::int64_t offset, FrameKind kind,
                   const std::string& bytes) {
        Frame f;
        f.session_id = id;
        f.seq = ++seq;
        f.connection_idx = conn;
        f.offset_ns = offset;
        f.bytes = bytes;
        f.columns = expected_columns(Transport::websocket, kind, bytes, "");
        b.records.push_back(f);
    };
    const std::string del = R"({"stream":["user"],"event":"delete","payload":"1"})";
    add(0, kSec / 2, FrameKind::ping, "");
    add(0, kSec, FrameKind::event, del);
    add(0, kSec + 1, FrameKind::event, del);
    add(0, kSec + 2, FrameKind::event,
        R"({"stream":["user"],"event":"notifications_merged","payload":"1"})");
    add(0, 2 * kSec + kSec / 2, FrameKind::ping, "");  // 2 s after the first ping
    add(1, 7 * kSec, FrameKind::ping, "");             // another connection: no interval across
    add(1, 8 * kSec, FrameKind::event, del);
    add(1, 9 * kSec + kSec / 2, FrameKind::ping, "");  // 2.5 s
    Gap g;
    g.session_id = id;
    g.cause = EndCause::eof;
    g.start_offset_ns = 4 * kSec;
    g.end_offset_ns = 6 * kSec;
    b.records.push_back(g);
    store.append(b);

    const auto st = compute_stats(store, id, 0);
    CHECK(st.counts.events == 4);
    CHECK(st.counts.by_event.at("delete") == 3);
    CHECK(st.counts.by_event.at("notifications_merged") == 1);
    CHECK(st.counts.heartbeats == 4);
    CHECK(st.duration_ns == 10 * kSec);
    CHECK(st.events_per_second_mean == Approx(0.4));
    CHECK(st.events_peak_per_second == 3);
    CHECK(st.peak_second == 1);
    CHECK(st.heartbeat_intervals.count == 2);
    CHECK(st.heartbeat_intervals.mean_ms == Approx(2250));
    CHECK(st.heartbeat_intervals.max_ms == Approx(2500));
    CHECK(st.gap_total_ns == 2 * kSec);
    CHECK(st.gap_longest_ns == 2 * kSec);
    CHECK(st.gaps_by_cause.at("eof") == 1);
}

TEST_CASE("Percentiles use the nearest rank") {
    const std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    CHECK(percentile(v, 50) == 5);
    CHECK(percentile(v, 99) == 10);
    CHECK(percentile({}, 50) == 0);
}
