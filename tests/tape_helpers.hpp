#pragma once

// Tapes in tests: a session's export, its frames, a fixture imported.

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "schema/formats/jsonl_tape.hpp"
#include "tests/test_support.hpp"

namespace mastotape::test {

// Session `id` of the tape at `db` as its JSONL export.
inline std::string exported(const std::string& db, std::int64_t id) {
    schema::TapeStore store(db, schema::OpenMode::read);
    std::ostringstream out;
    schema::export_session(store, id, out);
    return out.str();
}

// How many frames the newest session of the tape at `db` has committed; 0 when there is no
// readable tape (yet).
inline std::int64_t frames_in(const std::string& db) {
    try {
        schema::TapeStore store(db, schema::OpenMode::read);
        return store.counts(store.newest_session_id()).frames;
    } catch (const schema::TapeError&) {
        return 0;
    }
}

// The URL a replay child printed on its `listening` line into `out_file`, once it has; "" if it
// did not within 20 s.
inline std::string listening_url(const std::string& out_file) {
    std::string url;
    eventually([&] {
        const auto text = read_file(out_file);
        const auto pos = text.find("listening ");
        if (pos == std::string::npos) {
            return false;
        }
        url = text.substr(pos + 10, text.find('\n', pos) - pos - 10);
        return true;
    });
    return url;
}

// The one value `sql` selects from the tape at `path`, read with plain SQLite.
inline std::int64_t scalar(const std::string& path, const std::string& sql) {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
}

inline std::vector<schema::Frame> frames_of(schema::TapeStore& store, std::int64_t id) {
    std::vector<schema::Frame> out;
    auto cursor = store.frames_from_seq(id, 1);
    for (schema::Frame f; cursor.next(f);) {
        out.push_back(f);
    }
    return out;
}

// fixtures/NAME.jsonl imported into DIR/NAME.db (session 1); returns the tape's path.
inline std::string import_fixture(const TempDir& dir, const std::string& name) {
    const std::string db = dir.file(name + ".db");
    schema::TapeStore store(db, schema::OpenMode::create);
    std::ifstream in(std::string(MASTOTAPE_SOURCE_DIR) + "/fixtures/" + name + ".jsonl",
                     std::ios::binary);
    REQUIRE(in);
    schema::import_jsonl(store, in, name);
    return db;
}

}  // namespace mastotape::test
