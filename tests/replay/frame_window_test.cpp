// Connections of a replay read the frames through a shared window of the most recent ones.

#include "replay/frame_window.hpp"

#include <catch2/catch.hpp>

#include "schema/ops/synth.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::TempDir;

namespace {

// A synthesized session and all its frames in order.
struct Tape {
    explicit Tape(const schema::SynthOptions& o)
        : store(dir.file("t.db"), schema::OpenMode::create), id(schema::synthesize(store, o)) {
        load();
    }
    void load() {
        frames.clear();
        auto cursor = store.frames_from_seq(id, 1);
        schema::Frame f;
        while (cursor.next(f)) {
            frames.push_back(f);
        }
    }
    // Where a reader starting at the offset of frame `i` starts: the first frame at that offset.
    std::size_t first_at_offset_of(std::size_t i) const {
        while (i > 0 && frames[i - 1].offset_ns == frames[i].offset_ns) {
            --i;
        }
        return i;
    }

    TempDir dir;
    schema::TapeStore store;
    std::int64_t id;
    std::vector<schema::Frame> frames;
};

// Reads `n` frames from `r` and checks each against the tape from `at` on; returns the frames.
std::vector<replay::SharedFrame> read_checked(replay::FrameReader& r,
                                              const std::vector<schema::Frame>& tape,
                                              std::size_t& at, std::size_t n) {
    std::vector<replay::SharedFrame> got;
    for (std::size_t i = 0; i < n; ++i, ++at) {
        auto f = r.next();
        REQUIRE(f);
        REQUIRE(at < tape.size());
        CHECK(f->seq == tape[at].seq);
        CHECK(f->offset_ns == tape[at].offset_ns);
        CHECK(f->connection_idx == tape[at].connection_idx);
        CHECK(f->bytes == tape[at].bytes);
        got.push_back(f);
    }
    return got;
}

}  // namespace

TEST_CASE("Readers close behind the one in front share its frames, others read on their own") {
    schema::SynthOptions o;
    o.events = 600;
    o.connection_ends = {"eof"};  // two connections, a gap
    Tape t(o);
    auto& store = t.store;
    const auto id = t.id;
    const auto& tape = t.frames;
    REQUIRE(tape.size() > 600);

    replay::FrameWindow window(store, id, 100);
    replay::FrameReader front(window, store, id, 0);
    replay::FrameReader close_behind(window, store, id, 0);
    replay::FrameReader far_behind(window, store, id, 0);
    std::size_t at_front = 0;
    std::size_t at_close = 0;
    std::size_t at_far = 0;

    const auto led = read_checked(front, tape, at_front, 300);
    CHECK(window.size() == 100);
    // 250 frames behind: the window no longer has them; read all the same, from its own cursor.
    const auto behind = read_checked(close_behind, tape, at_close, 250);
    CHECK(behind[100].get() != led[100].get());
    // Now 50 behind, in the window: the very frames the front read.
    const auto shared = read_checked(close_behind, tape, at_close, 50);
    for (std::size_t i = 1; i < shared.size(); ++i) {
        CHECK(shared[i].get() == led[250 + i].get());
    }
    // Both to the end, in turns; the front one moves the window.
    for (;;) {
        if (at_front < tape.size()) {
            read_checked(front, tape, at_front, 1);
        }
        if (at_close < tape.size()) {
            read_checked(close_behind, tape, at_close, 1);
        } else {
            break;
        }
    }
    CHECK_FALSE(front.next());
    CHECK_FALSE(close_behind.next());
    // The one far behind reads every frame too, and ends where the tape ends.
    read_checked(far_behind, tape, at_far, tape.size());
    CHECK_FALSE(far_behind.next());
    CHECK(window.size() <= 100);
}

TEST_CASE(
    "A reader starts at the first frame at or after its offset, and the window is bounded in "
    "bytes") {
    schema::SynthOptions o;
    o.events = 200;
    Tape t(o);
    const auto& tape = t.frames;

    replay::FrameWindow window(t.store, t.id, 1000, 10'000);  // a few statuses' worth of bytes
    replay::FrameReader mid(window, t.store, t.id, tape[tape.size() / 2].offset_ns);
    std::size_t at = t.first_at_offset_of(tape.size() / 2);
    read_checked(mid, tape, at, tape.size() - at);
    CHECK_FALSE(mid.next());
    CHECK(window.size() >= 1);
    CHECK(window.size() < 20);
}

TEST_CASE("A reader in front of the window moves it, and one behind still reads every frame") {
    schema::SynthOptions o;
    o.events = 300;
    Tape t(o);
    const auto& tape = t.frames;

    replay::FrameWindow window(t.store, t.id, 50);
    replay::FrameReader early(window, t.store, t.id, 0);
    std::size_t at_early = 0;
    read_checked(early, tape, at_early, 20);
    // A connection that starts further on (a shared clock's now) leads from there.
    replay::FrameReader late(window, t.store, t.id, tape[200].offset_ns);
    std::size_t at_late = t.first_at_offset_of(200);
    read_checked(late, tape, at_late, 30);
    // The window moved to the late one: its frames only, the first one too (the time index
    // said where to start, the window read it).
    CHECK(window.size() == 30);
    read_checked(early, tape, at_early, tape.size() - at_early);
    CHECK_FALSE(early.next());
    read_checked(late, tape, at_late, tape.size() - at_late);
    CHECK_FALSE(late.next());
}

TEST_CASE(
    "A big frame's buffer leaves with it: the window counts what buffers hold and fills again") {
    schema::SynthOptions o;
    o.events = 50;
    Tape t(o);
    // After the session's frames: one frame of 1.5 MB, then 300 ordinary ones.
    schema::Batch more;
    more.session_id = t.id;
    schema::Frame f = t.frames.back();
    f.bytes.assign(1'500'000, 'x');
    for (int i = 0; i <= 300; ++i) {
        ++f.seq;
        f.offset_ns += 1'000'000;
        f.wall_ns += 1'000'000;
        more.records.push_back(f);
        f.bytes = t.frames[t.frames.size() - 2].bytes;
    }
    t.store.append(more);
    t.load();
    const auto& tape = t.frames;
    const std::size_t big = tape.size() - 301;
    REQUIRE(tape[big].bytes.size() == 1'500'000);

    constexpr std::size_t kMaxBytes = 1 << 20;
    replay::FrameWindow window(t.store, t.id, 100, kMaxBytes);
    replay::FrameReader reader(window, t.store, t.id, 0);
    std::size_t held_big = 0;
    for (std::size_t at = 0; at < tape.size(); ++at) {
        const auto got = reader.next();  // not kept: evicted frames are free to be reused
        REQUIRE(got);
        REQUIRE(got->seq == tape[at].seq);
        CHECK(got->bytes == tape[at].bytes);
        // Past the bound only while the big frame is the one frame held.
        if (window.size() > 1) {
            CHECK(window.bytes() <= kMaxBytes);
        } else {
            held_big += window.bytes() > kMaxBytes ? 1 : 0;
        }
    }
    CHECK_FALSE(reader.next());
    CHECK(held_big == 1);
    // The big buffer was let go, not read into again: the window holds its 100 frames once more,
    // in what their own buffers take.
    CHECK(window.size() == 100);
    CHECK(window.bytes() < 100 * 8 * 1024);
}
