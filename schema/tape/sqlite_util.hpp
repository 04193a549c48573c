#pragma once

// SQLiteCpp helpers for schema/'s own .cpp files: SQLite's failures as one-line TapeErrors, and
// the column and parameter conversions every statement needs.

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// A one-line reason for a SQLite failure, phrased for the user.
std::string describe(const SQLite::Exception& e);

// Runs `f`, turning a SQLite failure into a TapeError naming `path`.
template <typename F>
auto guarded(const std::string& path, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const SQLite::Exception& e) {
        throw TapeError(path + ": " + describe(e));
    }
}

std::optional<std::int64_t> opt_int(const SQLite::Column& c);
// A text or blob column's bytes, valid until the statement steps.
std::string_view column_bytes(const SQLite::Column& c);
void bind_opt(SQLite::Statement& st, int i, const std::optional<std::int64_t>& v);
void bind_opt_text(SQLite::Statement& st, int i, const std::optional<std::string>& v);

}  // namespace mastotape::schema
