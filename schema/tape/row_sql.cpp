#include "schema/tape/row_sql.hpp"

#include <type_traits>

#include "schema/tape/packed_blobs.hpp"
#include "schema/tape/sqlite_util.hpp"

namespace mastotape::schema {
namespace {

void assign(std::optional<std::string>& out, const SQLite::Column& c) {
    if (c.isNull()) {
        out.reset();
    } else if (out) {
        out->assign(column_bytes(c));
    } else {
        out.emplace(column_bytes(c));
    }
}

// An enum stored by name: its value, or a TapeError naming the file.
template <typename E, typename Parse>
E parse_stored(const SQLite::Column& c, Parse parse, const char* what, const std::string& path) {
    const std::string_view name = column_bytes(c);
    if (const auto v = parse(name)) {
        return *v;
    }
    throw TapeError(path + ": unknown " + what + " \"" + std::string(name) +
                    "\" (written by a newer mastotape?)");
}

// What a damaged packed field's error names.
std::string name_of(const Frame& f) {
    return "frame " + std::to_string(f.seq) + " of session " + std::to_string(f.session_id);
}
std::string name_of(const BackfillItem& b) {
    return "backfilled item " + std::to_string(b.seq) + " of session " +
           std::to_string(b.session_id);
}
template <typename Record>
std::string name_of(const Record&) {
    return std::string(table_of(static_cast<const Record*>(nullptr))) + " row";
}

// The SQL columns a field stands for: its own, and a packed field's kPackedColumns.
template <typename Record>
std::string columns_of_field(const Field<Record>& f) {
    return f.packed ? std::string(f.column) + ", " + std::string(kPackedColumns)
                    : std::string(f.column);
}

}  // namespace

template <typename Record>
std::string columns_of() {
    std::string out;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        out += (out.empty() ? "" : ", ") + columns_of_field(f);
    }
    return out;
}

template <typename Record>
std::string insert_sql(bool or_replace) {
    std::string cols;
    std::string marks;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        if (!f.generated) {
            cols += (cols.empty() ? "" : ", ") + columns_of_field(f);
            for (int k = 0; k < (f.packed ? 1 + kPackedColumnCount : 1); ++k) {
                marks += marks.empty() ? "?" : ",?";
            }
        }
    }
    return std::string(or_replace ? "INSERT OR REPLACE INTO " : "INSERT INTO ") +
           std::string(table_of(static_cast<const Record*>(nullptr))) + " (" + cols + ") VALUES (" +
           marks + ")";
}

namespace {

void bind_packed(SQLite::Statement& st, int i, const PackedBlob& p) {
    st.bindNoCopy(i, static_cast<const void*>(p.bytes.data()), static_cast<int>(p.bytes.size()));
    st.bind(i + 1, static_cast<std::int64_t>(p.codec));
    bind_opt(st, i + 2, p.dictionary_id);
    st.bind(i + 3, p.length);
    st.bind(i + 4, static_cast<std::int64_t>(p.checksum));
}

}  // namespace

template <typename Record>
void bind_row(SQLite::Statement& st, const Record& r, BlobPacker* packer) {
    int i = 1;
    // The field table hands out pointers into a record; binding only reads through them.
    auto& record = const_cast<Record&>(r);
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        if (f.generated) {
            continue;
        }
        std::visit(
            Overloaded{
                [&](std::int64_t* v) { st.bind(i, *v); },
                [&](std::optional<std::int64_t>* v) { bind_opt(st, i, *v); },
                [&](std::string* v) { st.bind(i, *v); },
                [&](bool* v) { st.bind(i, static_cast<std::int64_t>(*v ? 1 : 0)); },
                [&](std::optional<std::string>* v) { bind_opt_text(st, i, *v); },
                [&](BytesRef b) {
                    if (f.packed) {
                        PackedBlob raw;
                        raw.bytes = *b.value;
                        raw.length = static_cast<std::int64_t>(b.value->size());
                        raw.checksum = crc32c(*b.value);
                        bind_packed(st, i, packer != nullptr ? packer->pack(*b.value) : raw);
                        i += kPackedColumnCount;
                    } else {
                        st.bindNoCopy(i, static_cast<const void*>(b.value->data()),
                                      static_cast<int>(b.value->size()));
                    }
                },
                [&](LabelRef l) { bind_opt_text(st, i, *l.value); },
                [&](ParsedRef p) { st.bind(i, static_cast<std::int64_t>(*p.parse_ok ? 1 : 0)); },
                [&](std::vector<Subscription>* v) { st.bind(i, subscriptions_to_json(*v)); },
                [&](auto* e) { st.bind(i, std::string(to_string(*e))); },  // enums by name
            },
            f.ref(record));
        ++i;
    }
}

template <typename Record>
void read_row(SQLite::Statement& st, Record& r, const std::string& path, BlobUnpacker* unpacker) {
    int i = 0;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        const int at = i++;
        if (f.packed) {
            i += kPackedColumnCount;
            if (unpacker == nullptr ||
                !unpacker->unpack(st, at, *std::get<BytesRef>(f.ref(r)).value)) {
                throw DamagedBytes(path, name_of(r));
            }
            continue;
        }
        const SQLite::Column c = st.getColumn(at);
        std::visit(
            Overloaded{
                [&](std::int64_t* v) { *v = c.getInt64(); },
                [&](std::optional<std::int64_t>* v) { *v = opt_int(c); },
                [&](std::string* v) { v->assign(column_bytes(c)); },
                [&](bool* v) { *v = c.getInt() != 0; },
                [&](std::optional<std::string>* v) { assign(*v, c); },
                [&](BytesRef b) { b.value->assign(column_bytes(c)); },
                [&](LabelRef l) { assign(*l.value, c); },
                [&](ParsedRef p) { *p.parse_ok = c.getInt() != 0; },
                [&](std::vector<Subscription>* v) {
                    *v = subscriptions_from_json(column_bytes(c));
                },
                [&](EndCause* v) {
                    *v = parse_stored<EndCause>(c, end_cause_from_string, "end cause", path);
                },
                [&](BackfillStatus* v) {
                    *v = parse_stored<BackfillStatus>(c, backfill_status_from_string,
                                                      "backfill status", path);
                },
                [&](FrameKind* v) {
                    *v = frame_kind_from_string(column_bytes(c)).value_or(FrameKind::text);
                },
                [&](Transport* v) {
                    *v = transport_from_string(column_bytes(c)).value_or(Transport::websocket);
                },
                [&](SessionEnd* v) {
                    *v = parse_stored<SessionEnd>(c, session_end_from_string, "end reason", path);
                },
                [&](MessageKind* v) {
                    *v = parse_stored<MessageKind>(c, message_kind_from_string, "message kind",
                                                   path);
                },
            },
            f.ref(r));
    }
}

// A type, which parentheses round the argument would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MASTOTAPE_ROW_SQL(Record)                                                   \
    template std::string columns_of<Record>();                                      \
    template std::string insert_sql<Record>(bool);                                  \
    template void bind_row<Record>(SQLite::Statement&, const Record&, BlobPacker*); \
    template void read_row<Record>(SQLite::Statement&, Record&, const std::string&, BlobUnpacker*);
// NOLINTEND(bugprone-macro-parentheses)

MASTOTAPE_ROW_SQL(Session)
MASTOTAPE_ROW_SQL(Connection)
MASTOTAPE_ROW_SQL(Frame)
MASTOTAPE_ROW_SQL(ClientMessage)
MASTOTAPE_ROW_SQL(Gap)
MASTOTAPE_ROW_SQL(BackfillItem)

#undef MASTOTAPE_ROW_SQL

}  // namespace mastotape::schema
