// What --metrics serves: Prometheus text with HELP and TYPE for every family, labels escaped,
// and the stuck rule /healthz goes by.

#include "record/recorder_metrics.hpp"

#include <catch2/catch.hpp>

using namespace mastotape::record;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

MetricsSnapshot snapshot() {
    MetricsSnapshot m;
    m.counters.started_wall_ns = 100 * kSecond;
    m.counters.events[{"update", "hashtag=rust"}] = 7;
    m.counters.events[{"delete", "user"}] = 2;
    m.counters.frames = 12;
    m.counters.heartbeats = 3;
    m.counters.connection_ends["eof"] = 2;
    m.counters.last_frame_wall_ns = 110 * kSecond;
    m.counters.last_event_wall_ns = 108 * kSecond;
    m.state = "connected";
    m.file = R"(arch/"odd"\name.db)";
    m.stuck_after_ns = 76 * kSecond;
    return m;
}

}  // namespace

TEST_CASE("The metrics are Prometheus text: each family described once, samples with labels") {
    const std::string text = prometheus_text(snapshot(), 111 * kSecond);
    CHECK_THAT(text, Catch::Contains("# HELP mastotape_record_events_total Event frames recorded, "
                                     "by event and stream.\n# TYPE mastotape_record_events_total "
                                     "counter\n"));
    CHECK_THAT(text,
               Catch::Contains("mastotape_record_events_total{event=\"delete\",stream=\"user\"} 2\n"
                               "mastotape_record_events_total{event=\"update\",stream=\"hashtag="
                               "rust\"} 7\n"));
    CHECK_THAT(text, Catch::Contains("mastotape_record_reconnects_total{cause=\"eof\"} 2\n"));
    CHECK_THAT(text, Catch::Contains("mastotape_record_seconds_since_last_frame 1\n"));
    CHECK_THAT(text, Catch::Contains("mastotape_record_seconds_since_last_event 3\n"));
    // No heartbeat yet: counted from the start.
    CHECK_THAT(text, Catch::Contains("mastotape_record_seconds_since_last_heartbeat 11\n"));
    CHECK_THAT(text, Catch::Contains("mastotape_record_connected{state=\"connected\"} 1\n"));
    CHECK_THAT(text, Catch::Contains(R"(mastotape_record_file_info{file="arch/\"odd\"\\name.db"} 1)"
                                     "\n"));
    CHECK_THAT(text, Catch::Contains("# TYPE mastotape_record_disk_free_bytes gauge\n"));
    CHECK_THAT(text, Catch::Contains("mastotape_record_healthy 1\n"));
    CHECK(text.back() == '\n');
}

TEST_CASE("A recorder is stuck after no frame for the heartbeat timeout plus the backoff cap") {
    auto m = snapshot();
    CHECK_FALSE(stuck(m, 110 * kSecond + m.stuck_after_ns));
    CHECK(stuck(m, 110 * kSecond + m.stuck_after_ns + 1));
    CHECK_THAT(prometheus_text(m, 200 * kSecond), Catch::Contains("mastotape_record_healthy 0\n"));
    // Before the first frame it counts from the start.
    m.counters.last_frame_wall_ns = 0;
    CHECK_FALSE(stuck(m, 100 * kSecond + m.stuck_after_ns));
    CHECK(stuck(m, 100 * kSecond + m.stuck_after_ns + 1));
}
