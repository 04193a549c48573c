#pragma once

// Tapes in tests: a session's export, its frames, a fixture imported.

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "schema/jsonl_tape.hpp"
#include "tests/test_support.hpp"

namespace mastotape::test {

// Session `id` of the tape at `db` as its JSONL export.
inline std::string exported(const std::string& db, std::int64_t id) {
    schema::TapeStore store(db, schema::OpenMode::read);
    std::ostringstream out;
    schema::export_session(store, id, out);
    return out.str();
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
