#pragma once

// The records of rows.hpp as SQL: each record's column list, its INSERT, and the binding and
// reading of a row, driven by its field table. For schema/'s own .cpp files. Defined (and
// instantiated for Session, Connection, Frame, ClientMessage, Gap and BackfillItem) in
// row_sql.cpp.

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

#include "schema/rows.hpp"

namespace mastotape::schema {

// "a, b, c": the record's columns, in field order (for SELECT).
template <typename Record>
std::string columns_of();

// "INSERT [OR REPLACE] INTO table (columns) VALUES (?, ...)" for the columns SQLite does not
// assign, in field order.
template <typename Record>
std::string insert_sql(bool or_replace);

// Binds `r` to a statement made by insert_sql (from parameter 1). Byte fields are bound without
// a copy: `r` must outlive the statement's next step.
template <typename Record>
void bind_row(SQLite::Statement& st, const Record& r);

// Reads the current row of a statement selecting columns_of() (from column 0) into `r`, reusing
// its strings' storage. An unknown end cause or backfill status throws TapeError naming `path`.
template <typename Record>
void read_row(SQLite::Statement& st, Record& r, const std::string& path);

}  // namespace mastotape::schema
