// The recorder's disk side on its own: batches, the bytes limit that holds reading back, and
// nothing lost on the way.

#include "record/tape_writer.hpp"

#include <catch2/catch.hpp>

#include "schema/frame_classifier.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::TempDir;

TEST_CASE("The writer queue is bounded in bytes: room goes at half, push says full at the limit") {
    TempDir dir;
    const auto path = dir.file("tape.db");
    std::int64_t session_id = 0;
    {
        schema::TapeStore store(path, schema::OpenMode::create);
        schema::Session s;
        s.source = "test";
        session_id = store.create_session(s);
    }
    record::WriterOptions o;
    o.queue_limit_bytes = 64 * 1024;
    o.batch_interval = std::chrono::hours(1);  // nothing is written until asked
    o.batch_records = 1'000'000;
    record::TapeWriter writer(std::make_unique<schema::TapeStore>(path, schema::OpenMode::write),
                              session_id, o);
    auto frame = [&](std::int64_t seq) {
        schema::Frame f;
        f.session_id = session_id;
        f.seq = seq;
        f.offset_ns = seq;
        f.wall_ns = seq;
        f.bytes = std::string(4000, 'x');
        f.columns = schema::control_columns(schema::FrameKind::binary);
        return f;
    };
    std::int64_t seq = 0;
    CHECK(writer.has_room());
    // 4,000 bytes and a 256-byte share each: past half the limit at the 8th frame, past all of
    // it at the 16th.
    while (writer.has_room()) {
        REQUIRE(writer.push(frame(++seq)));
    }
    CHECK(seq == 8);
    while (writer.push(frame(++seq))) {
    }
    CHECK(seq == 16);
    CHECK_FALSE(writer.has_room());
    writer.flush_now();
    CHECK(writer.has_room());
    CHECK(writer.push(frame(++seq)));
    writer.finish(1, 1, "count", "");
    CHECK(writer.error().empty());
    schema::TapeStore store(path, schema::OpenMode::read);
    CHECK(store.counts(session_id).frames == seq);  // every frame pushed, over the limit too
}
