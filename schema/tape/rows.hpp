#pragma once

// One row mapper per record: the fields each record of the tape has, in order, with the SQL
// column and the JSONL key each is kept under. The store (row_sql) and the JSONL tape
// (jsonl_tape) both walk these tables, so a record's fields are written down once. The order is
// the JSONL key order (the store's column order does not matter). The DDL and its migrations
// stay in migrations.cpp: a released schema never changes.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schema/tape/model.hpp"

namespace mastotape::schema {

// Exact bytes: a BLOB; in JSONL "text" when valid UTF-8, else "base64" (the key is not used).
struct BytesRef {
    std::string* value;
};
// A stream label (compact JSON): TEXT or NULL; in JSONL the array itself, absent when none.
struct LabelRef {
    std::optional<std::string>* value;
};
// Whether a frame's bytes parsed as their kind should: the column parse_ok (1/0); in JSONL
// "unparsed": true when they did not, absent when they did.
struct ParsedRef {
    bool* parse_ok;
};

// Where a field lives in a record. An optional string is NULL when absent and, in JSONL, left out.
using FieldRef = std::variant<std::int64_t*, std::optional<std::int64_t>*, std::string*, bool*,
                              std::optional<std::string>*, BytesRef, LabelRef, ParsedRef, EndCause*,
                              BackfillStatus*, FrameKind*, Transport*, SessionEnd*, MessageKind*,
                              std::vector<Subscription>*>;

enum class InJsonl {
    yes,      // written and read
    derived,  // written; on import checked against the record's bytes, not read
    no,       // implied by where the record is (its session), or given by SQLite (an id)
};

// One visitor made of several lambdas, for std::visit over a FieldRef.
template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

template <typename Record>
struct Field {
    std::string_view column;  // SQL column
    std::string_view key;     // JSONL key
    InJsonl jsonl = InJsonl::yes;
    bool generated = false;  // assigned by SQLite on insert (read, never written)
    FieldRef (*ref)(Record&) = nullptr;
    // Bytes the store may keep compressed, beside the columns of kPackedColumns (a BytesRef).
    bool packed = false;
};

// The columns a packed field's bytes column is followed by in SQL: how the bytes are stored
// (Codec), the dictionary they need, and the length and CRC-32C of the raw bytes.
inline constexpr std::string_view kPackedColumns = "codec, dictionary_id, length, checksum";
inline constexpr int kPackedColumnCount = 4;

// The fields of each record.
std::span<const Field<Session>> fields(const Session*);
std::span<const Field<Connection>> fields(const Connection*);
std::span<const Field<Frame>> fields(const Frame*);
std::span<const Field<ClientMessage>> fields(const ClientMessage*);
std::span<const Field<Gap>> fields(const Gap*);
std::span<const Field<BackfillItem>> fields(const BackfillItem*);

// The SQL table each record is kept in.
std::string_view table_of(const Session*);
std::string_view table_of(const Connection*);
std::string_view table_of(const Frame*);
std::string_view table_of(const ClientMessage*);
std::string_view table_of(const Gap*);
std::string_view table_of(const BackfillItem*);

// Subscriptions as the sessions table keeps them: a JSON array of {"stream","param"?}.
std::string subscriptions_to_json(const std::vector<Subscription>& subs);
// Unreadable text gives none.
std::vector<Subscription> subscriptions_from_json(std::string_view text);

}  // namespace mastotape::schema
