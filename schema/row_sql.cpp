#include "schema/row_sql.hpp"

#include <type_traits>

#include "schema/sqlite_util.hpp"

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

}  // namespace

template <typename Record>
std::string columns_of() {
    std::string out;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        out += (out.empty() ? "" : ", ") + std::string(f.column);
    }
    return out;
}

template <typename Record>
std::string insert_sql(bool or_replace) {
    std::string cols;
    std::string marks;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        if (!f.generated) {
            cols += (cols.empty() ? "" : ", ") + std::string(f.column);
            marks += marks.empty() ? "?" : ",?";
        }
    }
    return std::string(or_replace ? "INSERT OR REPLACE INTO " : "INSERT INTO ") +
           std::string(table_of(static_cast<const Record*>(nullptr))) + " (" + cols + ") VALUES (" +
           marks + ")";
}

template <typename Record>
void bind_row(SQLite::Statement& st, const Record& r) {
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
                    st.bindNoCopy(i, static_cast<const void*>(b.value->data()),
                                  static_cast<int>(b.value->size()));
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
void read_row(SQLite::Statement& st, Record& r, const std::string& path) {
    int i = 0;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        const SQLite::Column c = st.getColumn(i++);
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
            },
            f.ref(r));
    }
}

#define MASTOTAPE_ROW_SQL(Record)                                      \
    template std::string columns_of<Record>();                         \
    template std::string insert_sql<Record>(bool);                     \
    template void bind_row<Record>(SQLite::Statement&, const Record&); \
    template void read_row<Record>(SQLite::Statement&, Record&, const std::string&);

MASTOTAPE_ROW_SQL(Session)
MASTOTAPE_ROW_SQL(Connection)
MASTOTAPE_ROW_SQL(Frame)
MASTOTAPE_ROW_SQL(ClientMessage)
MASTOTAPE_ROW_SQL(Gap)
MASTOTAPE_ROW_SQL(BackfillItem)

#undef MASTOTAPE_ROW_SQL

}  // namespace mastotape::schema
