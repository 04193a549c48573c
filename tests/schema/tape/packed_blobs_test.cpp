// Compact tapes in the store (issue 21): frames and backfilled bodies compressed on write with
// the session's dictionary, read back byte for byte, damage found, old tapes still read.

#include "schema/tape/packed_blobs.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/migrations.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::exported;
using mastotape::test::frames_of;
using mastotape::test::scalar;
using mastotape::test::TempDir;

namespace {

std::int64_t synth_into(const std::string& path, Compression c, std::int64_t events) {
    TapeStore store(path, OpenMode::create);
    store.set_compression(c);
    SynthOptions so;
    so.seed = 21;
    so.events = events;
    so.connection_ends = {"eof", "close"};
    return synthesize(store, so);
}

Frame status_frame(std::int64_t session, std::int64_t seq) {
    Frame f;
    f.session_id = session;
    f.seq = seq;
    f.offset_ns = seq * 1'000;
    f.wall_ns = 1'000 + f.offset_ns;
    f.bytes = R"({"stream":["public"],"event":"update","payload":"{\"id\":\")" +
              std::to_string(1000 + seq) + R"(\",\"content\":\"<p>post )" +
              std::to_string(seq * 7919 % 997) + R"(</p>\",\"account\":{\"acct\":\"alice\"}}"})";
    f.columns = classify_text(Transport::websocket, f.bytes, "");
    return f;
}

std::int64_t new_session(TapeStore& store) {
    Session s;
    s.source = "wss://example.social";
    s.subscriptions = {{"public", ""}};
    s.started_wall_ns = 1'000;
    const auto id = store.create_session(s);
    Batch b;
    b.session_id = id;
    Connection c;
    c.session_id = id;
    c.url = "wss://example.social/api/v1/streaming";
    c.handshake_offset_ns = 0;
    c.http_status = 101;
    b.records.push_back(c);
    store.append(b);
    return id;
}

// Flips one bit in the middle of the stored bytes of `column` in the row `where` names.
void flip_a_bit(const std::string& path, const std::string& table, const std::string& column,
                const std::string& where) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, "SELECT rowid, " + column + " FROM " + table + " WHERE " + where);
    REQUIRE(q.executeStep());
    const std::int64_t row = q.getColumn(0).getInt64();
    std::string bytes(static_cast<const char*>(q.getColumn(1).getBlob()),
                      static_cast<std::size_t>(q.getColumn(1).getBytes()));
    q.reset();
    REQUIRE(bytes.size() > 4);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
    SQLite::Statement u(db, "UPDATE " + table + " SET " + column + " = ? WHERE rowid = ?");
    u.bind(1, bytes.data(), static_cast<int>(bytes.size()));
    u.bind(2, row);
    REQUIRE(u.exec() == 1);
}

}  // namespace

TEST_CASE("A compressed tape holds the same bytes as a plain one in a fraction of the space") {
    TempDir dir;
    const auto packed = dir.file("zstd.db");
    const auto plain = dir.file("plain.db");
    const auto id = synth_into(packed, Compression{}, 3000);
    REQUIRE(synth_into(plain, Compression{Codec::none, 0}, 3000) == id);
    CHECK(exported(packed, id) == exported(plain, id));
    TapeStore a(packed, OpenMode::read);
    TapeStore b(plain, OpenMode::read);
    CHECK(a.backfill(id).size() > 0);
    for (const auto& item : b.backfill(id)) {
        CHECK(a.backfill_body(id, item.seq) == item.body);
    }
    CHECK(scalar(packed, "SELECT count(*) FROM frames WHERE kind = 'event' AND codec != 1") == 0);
    CHECK(scalar(packed, "SELECT count(*) FROM backfill_items WHERE codec != 1") == 0);
    CHECK(scalar(plain, "SELECT count(*) FROM frames WHERE codec != 0") == 0);
    // Every row, plain or not, carries its length and checksum.
    CHECK(scalar(plain, "SELECT count(*) FROM frames WHERE length IS NULL OR checksum IS NULL") ==
          0);
    CHECK(std::filesystem::file_size(packed) * 3 < std::filesystem::file_size(plain));
    CHECK(verify_tape(a, false, 0).clean());
    // What `stats` reports.
    const FrameStorage sa = a.frame_storage(id);
    const FrameStorage sb = b.frame_storage(id);
    CHECK(sa.raw_bytes == sb.raw_bytes);
    CHECK(sb.stored_bytes == sb.raw_bytes);
    CHECK(sb.compressed == 0);
    CHECK(sa.stored_bytes * 5 < sa.raw_bytes);
    CHECK(sa.compressed >= 3000);
    CHECK(sa.dictionary_trained_on == 2000);
}

TEST_CASE("A session's dictionary is trained on its first 2,000 frames and stored before use") {
    TempDir dir;
    const auto path = dir.file("t.db");
    std::int64_t id = 0;
    std::vector<std::string> written;
    {
        TapeStore store(path, OpenMode::create);
        id = new_session(store);
        // As a recorder writes: small batches.
        for (std::int64_t seq = 1; seq <= 2500;) {
            Batch b;
            b.session_id = id;
            for (int i = 0; i < 50; ++i, ++seq) {
                b.records.push_back(status_frame(id, seq));
                written.push_back(std::get<Frame>(b.records.back()).bytes);
            }
            store.append(b);
        }
    }
    const auto builtin = scalar(path, "SELECT id FROM dictionaries WHERE session_id IS NULL");
    const auto own = scalar(path, "SELECT id FROM dictionaries WHERE session_id = 1");
    CHECK(scalar(path, "SELECT trained_on FROM dictionaries WHERE session_id = 1") == 2000);
    CHECK(own > builtin);
    // The batch that completes the samples (frames 1951 to 2000) is the first to use it.
    CHECK(scalar(path, "SELECT max(seq) FROM frames WHERE dictionary_id = " +
                           std::to_string(builtin)) == 1950);
    CHECK(scalar(path, "SELECT min(seq) FROM frames WHERE dictionary_id = " +
                           std::to_string(own)) == 1951);
    CHECK(scalar(path,
                 "SELECT count(*) FROM frames WHERE dictionary_id NOT IN (SELECT id FROM "
                 "dictionaries)") == 0);
    TapeStore store(path, OpenMode::read);
    const auto frames = frames_of(store, id);
    REQUIRE(frames.size() == written.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        REQUIRE(frames[i].bytes == written[i]);
    }
}

TEST_CASE("A batch rolled back after storing a dictionary leaves no row pointing at it") {
    TempDir dir;
    const auto path = dir.file("t.db");
    TapeStore store(path, OpenMode::create);
    const auto id = new_session(store);
    Batch first;
    first.session_id = id;
    for (std::int64_t seq = 1; seq <= 2000; ++seq) {
        first.records.push_back(status_frame(id, seq));
    }
    // The batch that completes the training samples fails (a seq stored twice), so the
    // dictionary stored in its transaction is gone with it.
    first.records.push_back(status_frame(id, 1));
    CHECK_THROWS_AS(store.append(first), TapeError);
    first.records.pop_back();
    store.append(first);
    CHECK(scalar(path,
                 "SELECT count(*) FROM frames WHERE dictionary_id NOT IN (SELECT id FROM "
                 "dictionaries)") == 0);
    CHECK(frames_of(store, id).size() == 2000);
    CHECK(verify_tape(store, false, 0).clean());
}

TEST_CASE("A flipped bit in a compressed frame or body is found by verify and named by readers") {
    TempDir dir;
    const auto path = dir.file("t.db");
    const auto id = synth_into(path, Compression{}, 300);
    flip_a_bit(path, "frames", "bytes", "seq = 40");
    flip_a_bit(path, "backfill_items", "body", "seq = 2");
    {
        // A checksum that no longer matches plain bytes is found too.
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        db.exec("UPDATE frames SET checksum = checksum + 1 WHERE seq = 41");
    }
    TapeStore store(path, OpenMode::read);
    const auto report = verify_tape(store, false, 0);
    REQUIRE(report.problems.size() == 3);
    CHECK_THAT(report.problems[0], Catch::Contains("frame 40 is damaged"));
    CHECK_THAT(report.problems[1], Catch::Contains("frame 41 is damaged"));
    CHECK_THAT(report.problems[2], Catch::Contains("backfilled item 2 of session 1 is damaged"));
    try {
        frames_of(store, id);
        FAIL("a damaged frame was read");
    } catch (const DamagedBytes& e) {
        CHECK(std::string(e.what()) ==
              path +
                  ": frame 40 of session 1 is damaged: its bytes do not decompress to their "
                  "stored length and checksum; try `mastotape verify`");
    }
    CHECK_THROWS_AS(store.backfill_body(id, 2), DamagedBytes);
}

TEST_CASE("A truncated dictionary is named by verify (exit 4), and readers say the frame") {
    // Before: zstd refused the cut-short dictionary and every command printed std::bad_alloc.
    TempDir dir;
    const auto path = dir.file("t.db");
    const auto id = synth_into(path, Compression{}, 300);
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        db.exec("UPDATE dictionaries SET bytes = substr(bytes, 1, 50)");
    }
    TapeStore store(path, OpenMode::read);
    const auto report = verify_tape(store, false, 0);
    REQUIRE_FALSE(report.problems.empty());
    CHECK(report.problems[0] ==
          "dictionary 1 (the built-in one, 50 bytes) is damaged: zstd cannot load it, so no "
          "frame compressed with it can be read");
    CHECK_THAT(report.problems[1], Catch::Contains("frame 1 is damaged"));
    CHECK_THROWS_AS(frames_of(store, id), DamagedBytes);
    const auto verify = run_mastotape("verify --db " + path, dir);
    CHECK(verify.exit_code == 4);
    CHECK_THAT(verify.out + verify.err, Catch::Contains("dictionary 1 (the built-in one"));
    CHECK_THAT(verify.out + verify.err, !Catch::Contains("bad_alloc"));
    for (const char* command : {"export", "show"}) {  // they read the frames' bytes
        INFO(command);
        const auto r = run_mastotape(std::string(command) + " --db " + path, dir);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err, Catch::Contains("of session 1 is damaged: its bytes do not decompress"));
        CHECK_THAT(r.err, !Catch::Contains("bad_alloc"));
    }
}

TEST_CASE("A version 3 tape reads its plain rows, and what is added to it is compressed") {
    TempDir dir;
    const auto path = dir.file("v3.db");
    const std::string old_bytes = status_frame(1, 1).bytes;
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
        for (int v = 0; v < 3; ++v) {
            db.exec(std::string(migrations().at(static_cast<std::size_t>(v))));
        }
        db.exec("PRAGMA user_version = 3");
        db.exec(
            "INSERT INTO sessions (source, transport, subscriptions, started_wall_ns, "
            "updated_wall_ns) VALUES ('wss://old.example', 'websocket', "
            "'[{\"stream\":\"public\"}]', 5, 5)");
        db.exec(
            "INSERT INTO connections (session_id, idx, url, started_offset_ns, started_wall_ns, "
            "handshake_offset_ns, http_status) VALUES (1, 0, 'wss://old.example', 0, 5, 0, 101)");
        SQLite::Statement f(db,
                            "INSERT INTO frames (session_id, seq, connection_idx, offset_ns, "
                            "wall_ns, kind, parse_ok, event, stream, object_id, bytes) VALUES (1, "
                            "1, 0, 1000, 1005, 'event', 1, 'update', '[\"public\"]', '1001', ?)");
        f.bind(1, old_bytes.data(), static_cast<int>(old_bytes.size()));
        f.exec();
    }
    const auto file_before = mastotape::test::read_file(path);
    {
        // A reader never changes a file: before, it switched this one to WAL and migrated it.
        TapeStore reader(path, OpenMode::read);
        const auto frames = frames_of(reader, 1);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].bytes == old_bytes);
        const auto exported = run_mastotape("export --db " + path, dir);
        CHECK(exported.exit_code == 0);
        CHECK_THAT(exported.out, Catch::Contains("wss://old.example"));
    }
    CHECK(mastotape::test::read_file(path) == file_before);
    CHECK_FALSE(std::filesystem::exists(path + "-wal"));
    TapeStore store(path, OpenMode::write);
    CHECK(store.schema_version() == current_schema_version());
    Batch b;
    b.session_id = 1;
    b.records.push_back(status_frame(1, 2));
    store.append(b);
    const auto frames = frames_of(store, 1);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].bytes == old_bytes);
    CHECK(frames[1].bytes == status_frame(1, 2).bytes);
    // The old row is not rewritten: it keeps codec 0 and no length or checksum.
    CHECK(scalar(path, "SELECT codec FROM frames WHERE seq = 1") == 0);
    CHECK(scalar(path, "SELECT count(*) FROM frames WHERE seq = 1 AND checksum IS NULL") == 1);
    CHECK(scalar(path, "SELECT codec FROM frames WHERE seq = 2") == 1);
}

TEST_CASE("A frame that compression would not shrink is stored as it is") {
    TempDir dir;
    const auto path = dir.file("t.db");
    TapeStore store(path, OpenMode::create);
    const auto id = new_session(store);
    Batch b;
    b.session_id = id;
    Frame ping;
    ping.session_id = id;
    ping.seq = 1;
    ping.columns.kind = FrameKind::ping;
    b.records.push_back(ping);
    Frame noise = status_frame(id, 2);
    noise.columns.kind = FrameKind::binary;
    noise.bytes = std::string("\x8f\x01\xfe\x42\x99", 5);
    b.records.push_back(noise);
    store.append(b);
    CHECK(scalar(path, "SELECT count(*) FROM frames WHERE codec = 0") == 2);
    const auto frames = frames_of(store, id);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].bytes.empty());
    CHECK(frames[1].bytes == noise.bytes);
}
