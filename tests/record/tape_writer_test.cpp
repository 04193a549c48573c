// The recorder's disk side on its own: batches, the bytes limit that holds reading back, and
// nothing lost on the way.

#include "record/tape_writer.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "schema/mastodon/frame_classifier.hpp"
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
    o.batch_interval = std::chrono::hours(1);  // nothing is written before the 17th record
    o.batch_records = 17;
    std::atomic<int> rooms{0};
    o.on_room = [&] { ++rooms; };
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
    CHECK(rooms.load() == 0);
    // The 17th makes a batch: the writer takes it and says there is room again, once.
    CHECK_FALSE(writer.push(frame(++seq)));
    REQUIRE(mastotape::test::eventually([&] { return rooms.load() == 1; }, 5));
    CHECK(writer.has_room());
    CHECK(writer.push(frame(++seq)));
    writer.finish(1, 1, schema::SessionEnd::count, "");
    CHECK(writer.error().empty());
    schema::TapeStore store(path, schema::OpenMode::read);
    CHECK(store.counts(session_id).frames == seq);  // every frame pushed, over the limit too
}

namespace {

// A tape with one session, and frames for it.
struct WriterTape {
    WriterTape() {
        schema::TapeStore store(path, schema::OpenMode::create);
        schema::Session s;
        s.source = "test";
        session_id = store.create_session(s);
    }
    schema::Frame frame(std::int64_t seq) const {
        schema::Frame f;
        f.session_id = session_id;
        f.seq = seq;
        f.offset_ns = seq;
        f.wall_ns = seq;
        f.bytes = "x";
        f.columns = schema::control_columns(schema::FrameKind::binary);
        return f;
    }
    TempDir dir;
    std::string path = dir.file("tape.db");
    std::int64_t session_id = 0;
};

}  // namespace

TEST_CASE("Behind a commit that is stuck, reading pauses once a batch is queued") {
    // What a kill -9 loses is the batch being committed and what is queued behind it; before,
    // up to 8 MiB (five batches of Mastodon statuses) could wait behind a slow commit.
    WriterTape tape;
    record::WriterOptions o;
    o.batch_interval = std::chrono::hours(1);  // batches go when full
    o.batch_records = 10;
    record::TapeWriter writer(
        std::make_unique<schema::TapeStore>(tape.path, schema::OpenMode::write), tape.session_id,
        o);
    // Another connection holds the write lock: the writer's first commit waits on it.
    SQLite::Database blocker(tape.path, SQLite::OPEN_READWRITE);
    blocker.exec("BEGIN IMMEDIATE");
    std::int64_t seq = 0;
    while (seq < 10) {
        writer.push(tape.frame(++seq));
    }
    // The writer takes the full batch (and is then stuck committing it).
    REQUIRE(mastotape::test::eventually([&] { return writer.has_room(); }, 5));
    while (seq < 19) {
        writer.push(tape.frame(++seq));
    }
    CHECK(writer.has_room());  // nine queued
    writer.push(tape.frame(++seq));
    CHECK_FALSE(writer.has_room());  // a whole batch queued behind the stuck one
    blocker.exec("COMMIT");
    CHECK(mastotape::test::eventually([&] { return writer.has_room(); }, 5));
    writer.finish(1, 1, schema::SessionEnd::count, "");
    CHECK(writer.error().empty());
    schema::TapeStore store(tape.path, schema::OpenMode::read);
    CHECK(store.counts(tape.session_id).frames == 20);
}

TEST_CASE("The first storage error is handed to on_error once, and nothing more is written") {
    WriterTape tape;
    std::atomic<int> calls{0};
    std::string said;
    record::WriterOptions o;
    o.batch_interval = std::chrono::milliseconds(10);
    o.on_error = [&](const std::string& e) {
        said = e;
        ++calls;
    };
    record::TapeWriter writer(
        std::make_unique<schema::TapeStore>(tape.path, schema::OpenMode::write), tape.session_id,
        o);
    writer.push(tape.frame(1));
    {
        schema::TapeStore committed(tape.path, schema::OpenMode::read);
        REQUIRE(mastotape::test::eventually(
            [&] { return committed.counts(tape.session_id).frames == 1; }, 5));
    }
    // A frame that breaks the gapless seq's uniqueness: its commit fails, as a full disk's would.
    writer.push(tape.frame(1));
    REQUIRE(mastotape::test::eventually([&] { return calls.load() > 0; }, 5));
    writer.push(tape.frame(2));
    writer.finish(1, 1, schema::SessionEnd::error, "");
    CHECK(calls.load() == 1);
    CHECK_FALSE(said.empty());
    CHECK(writer.error() == said);
    schema::TapeStore store(tape.path, schema::OpenMode::read);
    CHECK(store.counts(tape.session_id).frames == 1);
}
