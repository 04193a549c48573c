#include "schema/tape/tape_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/migrations.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::TempDir;

namespace {

Session sample_session() {
    Session s;
    s.label = "t";
    s.source = "wss://example.social";
    s.transport = Transport::websocket;
    s.subscriptions = {{"user", ""}, {"hashtag", "rust"}};
    s.started_wall_ns = 1'000;
    s.updated_wall_ns = 1'000;
    return s;
}

Frame event_frame(std::int64_t session, std::int64_t seq, std::int64_t offset) {
    Frame f;
    f.session_id = session;
    f.seq = seq;
    f.offset_ns = offset;
    f.wall_ns = 1'000 + offset;
    f.bytes = R"({"stream":["user"],"event":"delete","payload":")" + std::to_string(seq) + "\"}";
    f.columns = classify_text(Transport::websocket, f.bytes, "");
    return f;
}

Connection open_connection(std::int64_t session) {
    Connection c;
    c.session_id = session;
    c.url = "wss://example.social/api/v1/streaming";
    c.http_status = 101;
    return c;
}

// Expects `f` to throw TapeError whose message names `path` and contains `words`.
template <typename F>
void require_tape_error(F&& f, const std::string& path, const std::string& words) {
    try {
        f();
        FAIL("no TapeError thrown");
    } catch (const TapeError& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains(path));
        CHECK_THAT(msg, Catch::Contains(words));
        CHECK(msg.find('\n') == std::string::npos);
    }
}

// A new session in `store` of one connection and `events` events, seq i at offset i * 100.
std::int64_t session_of_events(TapeStore& store, int events) {
    const auto id = store.create_session(sample_session());
    Batch b;
    b.session_id = id;
    b.records.push_back(open_connection(id));
    for (int i = 1; i <= events; ++i) {
        b.records.push_back(event_frame(id, i, i * 100));
    }
    store.append(b);
    return id;
}

}  // namespace

TEST_CASE("A new tape is marked as a tape, in WAL mode, at the current version") {
    TempDir dir;
    const auto path = dir.file("t.db");
    { TapeStore store(path, OpenMode::create); }
    SQLite::Database db(path);
    CHECK(db.execAndGet("PRAGMA application_id").getInt() == kApplicationId);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == current_schema_version());
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
}

TEST_CASE(
    "Sessions, connections, frames, gaps, client messages and backfill read back as written") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    const auto id = store.create_session(sample_session());
    Batch b;
    b.session_id = id;
    b.records.push_back(open_connection(id));
    for (int i = 1; i <= 3; ++i) {
        b.records.push_back(event_frame(id, i, i * 10));
    }
    Frame binary;
    binary.session_id = id;
    binary.seq = 4;
    binary.offset_ns = 40;
    binary.bytes = std::string("\x00\xff\x01", 3);
    binary.columns = control_columns(FrameKind::binary);
    b.records.push_back(binary);
    ClientMessage m;
    m.session_id = id;
    m.seq = 1;
    m.kind = MessageKind::text;
    m.bytes = R"({"type":"subscribe","stream":"user"})";
    b.records.push_back(m);
    Gap g;
    g.session_id = id;
    g.cause = EndCause::eof;
    g.start_offset_ns = 50;
    b.records.push_back(g);
    BackfillItem item;
    item.session_id = id;
    item.seq = 1;
    item.endpoint = "/api/v1/timelines/home";
    item.object_id = "9";
    item.body = "{\"id\":\"9\"}";
    item.already_streamed = true;
    b.records.push_back(item);
    store.append(b);

    const auto s = store.session(id);
    CHECK(s.subscriptions == sample_session().subscriptions);
    CHECK(store.connections(id).size() == 1);
    CHECK(store.gaps(id).at(0).cause == EndCause::eof);
    CHECK(store.client_messages(id).at(0).bytes == m.bytes);
    CHECK(store.backfill(id).at(0).already_streamed);
    auto cursor = store.frames_from_seq(id, 1);
    Frame f;
    std::vector<std::int64_t> seqs;
    while (cursor.next(f)) {
        seqs.push_back(f.seq);
    }
    CHECK(seqs == std::vector<std::int64_t>{1, 2, 3, 4});
    CHECK(f.bytes == binary.bytes);
    CHECK(f.columns.kind == FrameKind::binary);
    const auto counts = store.counts(id);
    CHECK(counts.frames == 4);
    CHECK(counts.events == 3);
    CHECK(counts.by_event.at("delete") == 3);
}

TEST_CASE("A batch commits whole or not at all") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    const auto id = store.create_session(sample_session());
    Batch first;
    first.session_id = id;
    first.records.push_back(open_connection(id));
    first.records.push_back(event_frame(id, 1, 1));
    store.append(first);

    Batch bad;
    bad.session_id = id;
    bad.records.push_back(event_frame(id, 2, 2));
    bad.records.push_back(event_frame(id, 3, 3));
    bad.records.push_back(event_frame(id, 1, 4));  // duplicate seq: the whole batch must fail
    CHECK_THROWS_AS(store.append(bad), TapeError);
    CHECK(store.counts(id).frames == 1);

    // The store is still usable after the failed batch.
    Batch good;
    good.session_id = id;
    good.records.push_back(event_frame(id, 2, 2));
    store.append(good);
    CHECK(store.counts(id).frames == 2);
}

TEST_CASE("A cursor can start at a seq or at a time offset") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    const auto id = session_of_events(store, 10);
    Frame f;
    auto by_seq = store.frames_from_seq(id, 7);
    REQUIRE(by_seq.next(f));
    CHECK(f.seq == 7);
    auto by_time = store.frames_from_offset(id, 450);
    REQUIRE(by_time.next(f));
    CHECK(f.seq == 5);
    auto past_end = store.frames_from_offset(id, 5000);
    CHECK_FALSE(past_end.next(f));
    CHECK(store.first_seq_at(id, 450) == 5);
    CHECK(store.first_seq_at(id, 0) == 1);
    CHECK_FALSE(store.first_seq_at(id, 5000));
    CHECK_FALSE(store.first_seq_at(id + 1, 0));
}

TEST_CASE("Cursors reuse their statements, each reading from its own start, no read left open") {
    TempDir dir;
    const std::string path = dir.file("t.db");
    TapeStore store(path, OpenMode::create);
    const auto id = session_of_events(store, 40);
    Frame f;
    for (int round = 0; round < 3; ++round) {
        // Many open at once, each left part way, then closed: their statements come back.
        std::vector<FrameCursor> open;
        for (int from = 1; from <= 30; ++from) {
            open.push_back(from % 2 ? store.frames_from_seq(id, from)
                                    : store.frames_from_offset(id, from * 100 - 50));
            REQUIRE(open.back().next(f));
            CHECK(f.seq == from);
        }
        for (std::size_t i = 0; i < open.size(); ++i) {
            for (std::size_t step = 1; step <= i % 4; ++step) {
                REQUIRE(open[i].next(f));
                CHECK(f.seq == static_cast<std::int64_t>(i + 1 + step));
            }
        }
    }
    // Every cursor is gone, some of them stopped mid-walk: no read holds the WAL, so a
    // checkpoint from another connection copies all of it.
    SQLite::Database other(path, SQLite::OPEN_READWRITE);
    SQLite::Statement cp(other, "PRAGMA wal_checkpoint(TRUNCATE)");
    REQUIRE(cp.executeStep());
    CHECK(cp.getColumn(0).getInt() == 0);  // not busy
    auto again = store.frames_from_seq(id, 38);
    REQUIRE(again.next(f));
    CHECK(f.seq == 38);
}

TEST_CASE("A session never ended reads as recording while fresh and interrupted once stale") {
    Session s = sample_session();
    s.updated_wall_ns = 1'000'000'000'000;
    CHECK(session_state(s, s.updated_wall_ns + 1'000'000'000) == SessionState::recording);
    CHECK(session_state(s, s.updated_wall_ns + 60'000'000'000) == SessionState::interrupted);
    s.ended_wall_ns = s.updated_wall_ns;
    CHECK(session_state(s, s.updated_wall_ns + 60'000'000'000) == SessionState::ended);
}

TEST_CASE("A version 1 tape is read as it is and migrated by a writer, keeping its data") {
    TempDir dir;
    const auto path = dir.file("v1.db");
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
        db.exec(std::string(migrations().at(0)));
        db.exec("PRAGMA user_version = 1");
        db.exec(
            "INSERT INTO sessions (source, transport, subscriptions, started_wall_ns, "
            "updated_wall_ns) VALUES ('wss://old.example', 'websocket', '[{\"stream\":\"user\"}]', "
            "5, 5)");
        db.exec(
            "INSERT INTO connections (session_id, idx, url, started_offset_ns, started_wall_ns) "
            "VALUES (1, 0, 'wss://old.example/api/v1/streaming', 0, 5)");
        db.exec(
            "INSERT INTO frames (session_id, seq, connection_idx, offset_ns, wall_ns, kind, "
            "parse_ok, bytes) VALUES (1, 1, 0, 10, 15, 'ping', 1, x'')");
    }
    const auto before = mastotape::test::read_file(path);
    for (const auto mode : {OpenMode::read, OpenMode::write}) {
        // A reader reads a migrated copy and leaves the file as it was; a writer migrates it.
        INFO((mode == OpenMode::read ? "read" : "write"));
        TapeStore store(path, mode);
        CHECK(store.schema_version() == current_schema_version());
        CHECK(store.session(1).source == "wss://old.example");
        CHECK(store.counts(1).heartbeats == 1);
        CHECK(store.client_messages(1).empty());  // the table added by version 2 exists
        // Version 3's id-ordered event index answers an id-ordered scan.
        CHECK(store.event_streams(1, "update").empty());
        ItemCursor none = store.items_by_id(1, ItemScan{});
        ItemRow row;
        CHECK_FALSE(none.next(row));
        if (mode == OpenMode::read) {
            CHECK(mastotape::test::read_file(path) == before);
        }
    }
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == current_schema_version());
    CHECK(db.execAndGet("SELECT sql FROM sqlite_master WHERE name = 'frames_by_event'")
              .getString()
              .find("length(object_id)") != std::string::npos);
}

TEST_CASE("Opening bad files fails with one line naming the file and leaves it unchanged") {
    TempDir dir;

    SECTION("a missing file") {
        const auto path = dir.file("missing.db");
        require_tape_error([&] { TapeStore s(path, OpenMode::read); }, path, "no such tape");
        CHECK_FALSE(std::filesystem::exists(path));
    }
    SECTION("a file that is not SQLite") {
        const auto path = dir.file("notes.txt");
        mastotape::test::write_file(path, "just some text, long enough to have a header\n");
        const auto before = mastotape::test::read_file(path);
        require_tape_error([&] { TapeStore s(path, OpenMode::write); }, path, "not a SQLite file");
        CHECK(mastotape::test::read_file(path) == before);
    }
    SECTION("a SQLite database that is not a tape") {
        const auto path = dir.file("other.db");
        {
            SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
        }
        const auto before = mastotape::test::read_file(path);
        require_tape_error([&] { TapeStore s(path, OpenMode::create); }, path,
                           "not a mastotape tape");
        CHECK(mastotape::test::read_file(path) == before);
    }
    SECTION("a tape from a newer mastotape") {
        const auto path = dir.file("future.db");
        { TapeStore s(path, OpenMode::create); }
        {
            SQLite::Database db(path, SQLite::OPEN_READWRITE);
            db.exec("PRAGMA user_version = 99");
        }
        const auto before = mastotape::test::read_file(path);
        require_tape_error([&] { TapeStore s(path, OpenMode::write); }, path, "newer");
        CHECK(mastotape::test::read_file(path) == before);
    }
    SECTION("a corrupt tape") {
        const auto path = dir.file("corrupt.db");
        {
            TapeStore s(path, OpenMode::create);
            SynthOptions o;
            o.events = 300;
            synthesize(s, o);
        }
        auto bytes = mastotape::test::read_file(path);
        REQUIRE(bytes.size() > 64 * 1024);
        for (std::size_t i = 4096; i < bytes.size(); i += 97) {
            bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
        }
        mastotape::test::write_file(path, bytes);
        require_tape_error(
            [&] {
                TapeStore s(path, OpenMode::read);
                const auto id = s.newest_session_id();
                s.counts(id);
                auto cursor = s.frames_from_seq(id, 1);
                Frame f;
                while (cursor.next(f)) {
                }
            },
            path, "corrupt");
        CHECK(mastotape::test::read_file(path) == bytes);
    }
    SECTION("a read-only location") {
        const std::string path = "/sys/mastotape-test.db";
        require_tape_error([&] { TapeStore s(path, OpenMode::create); }, path, "cannot create");
        CHECK_FALSE(std::filesystem::exists(path));
    }
}

#if defined(__SANITIZE_ADDRESS__)
// ASan holds freed memory in quarantine (up to 256 MB), so RSS says nothing about the cursor there;
// the sanitized build walks a smaller tape for memory errors and the plain build checks the bound.
constexpr bool kMeasureRss = false;
constexpr std::int64_t kBigTapeEvents = 100'000;
#else
constexpr bool kMeasureRss = true;
constexpr std::int64_t kBigTapeEvents = 1'000'000;
#endif

TEST_CASE("Walking a million-frame session keeps resident memory flat") {
    TempDir dir;
    TapeStore store(dir.file("big.db"), OpenMode::create);
    SynthOptions o;
    o.subscriptions = {{"user:notification", ""}};
    o.event_mix = {"notifications_merged"};
    o.events = kBigTapeEvents;
    o.rate = 1000;
    const auto id = synthesize(store, o);
    auto cursor = store.frames_from_seq(id, 1);
    Frame f;
    std::int64_t n = 0;
    long baseline = 0;
    long peak = 0;
    while (cursor.next(f)) {
        ++n;
        if (n == 10'000) {
            baseline = mastotape::test::rss_kib();
        } else if (n % 50'000 == 0) {
            peak = std::max(peak, mastotape::test::rss_kib());
        }
    }
    CHECK(n >= kBigTapeEvents);
    if (kMeasureRss) {
        INFO("baseline " << baseline << " KiB, peak " << peak << " KiB");
        CHECK(baseline > 0);
        CHECK(peak - baseline < 16 * 1024);
    }
}

TEST_CASE("Background checkpoints copy the WAL into the file while writing and keep it bounded") {
    TempDir dir;
    const auto path = dir.file("t.db");
    const auto wal = path + "-wal";
    std::int64_t id = 0;
    std::vector<std::string> written;
    {
        TapeStore store(path, OpenMode::create);
        id = store.create_session(sample_session());
        store.set_compression({Codec::none, 0});  // 8 MB of frames, not what they compress to
        store.checkpoint_in_background({.ask = 8, .force = 32});
        const auto file_before = std::filesystem::file_size(path);
        std::uintmax_t largest_wal = 0;
        std::int64_t seq = 0;
        for (int batch = 0; batch < 100; ++batch) {  // 100 commits of 80 KB: ~500 pages in all
            Batch b;
            b.session_id = id;
            for (int i = 0; i < 20; ++i) {
                ++seq;
                Frame f = event_frame(id, seq, seq * 1'000);
                f.bytes += std::string(4'000 - f.bytes.size(), ' ');
                written.push_back(f.bytes);
                b.records.push_back(std::move(f));
            }
            store.append(b);
            largest_wal = std::max(largest_wal, std::filesystem::file_size(wal));
        }
        CHECK(store.background_checkpoints() > 0);
        // Copied into the file while the writer still has it open...
        CHECK(std::filesystem::file_size(path) > file_before + 4'000'000);
        // ... and the WAL started over instead of holding all 8 MB: never much past the forced
        // round's 32 pages and one commit's (at most ~20 pages: the frames and their indexes).
        CHECK(largest_wal < 64 * 16'384);
    }
    CHECK_FALSE(std::filesystem::exists(wal));  // the writer's close was the last
    TapeStore store(path, OpenMode::read);
    CHECK(store.integrity_problems().empty());
    auto cursor = store.frames_from_seq(id, 1);
    Frame f;
    std::size_t n = 0;
    while (cursor.next(f)) {
        REQUIRE(n < written.size());
        CHECK(f.bytes == written[n]);
        ++n;
    }
    CHECK(n == written.size());
}
