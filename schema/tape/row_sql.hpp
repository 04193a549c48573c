#pragma once

// The records of rows.hpp as SQL: each record's column list, its INSERT, and the binding and
// reading of a row, driven by its field table. For schema/'s own .cpp files. Defined (and
// instantiated for Session, Connection, Frame, ClientMessage, Gap and BackfillItem) in
// row_sql.cpp.

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

#include "schema/tape/rows.hpp"

namespace mastotape::schema {

// "a, b, c": the record's columns, in field order (for SELECT).
template <typename Record>
std::string columns_of();

// "INSERT [OR REPLACE] INTO table (columns) VALUES (?, ...)" for the columns SQLite does not
// assign, in field order.
template <typename Record>
std::string insert_sql(bool or_replace);

class BlobPacker;
class BlobUnpacker;

// Binds `r` to a statement made by insert_sql (from parameter 1). Byte fields are bound without
// a copy: `r` (and `packer`'s output) must outlive the statement's next step. A packed field is
// stored as `packer` packs it (BlobPacker::begin_batch called for its session), or as it is
// (with its length and checksum) without one.
template <typename Record>
void bind_row(SQLite::Statement& st, const Record& r, BlobPacker* packer = nullptr);

// Reads the current row of a statement selecting columns_of() (from column 0) into `r`, reusing
// its strings' storage. An unknown end cause or backfill status throws TapeError naming `path`;
// a packed field that `unpacker` finds damaged throws DamagedBytes. Records with a packed field
// need an `unpacker`.
template <typename Record>
void read_row(SQLite::Statement& st, Record& r, const std::string& path,
              BlobUnpacker* unpacker = nullptr);

}  // namespace mastotape::schema
