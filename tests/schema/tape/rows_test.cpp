#include "schema/tape/rows.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::TempDir;

namespace {

template <typename Record>
std::set<std::string> field_columns() {
    std::set<std::string> out;
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        out.emplace(f.column);
        if (f.packed) {
            out.insert({"codec", "dictionary_id", "length", "checksum"});  // kPackedColumns
        }
    }
    return out;
}

std::set<std::string> table_columns(SQLite::Database& db, std::string_view table) {
    std::set<std::string> out;
    SQLite::Statement q(db, "SELECT name FROM pragma_table_info('" + std::string(table) + "')");
    while (q.executeStep()) {
        out.insert(q.getColumn(0).getString());
    }
    return out;
}

template <typename Record>
void check_table(SQLite::Database& db, std::set<std::string> extra = {}) {
    const Record* r = nullptr;
    INFO(table_of(r));
    auto want = field_columns<Record>();
    want.insert(extra.begin(), extra.end());
    CHECK(table_columns(db, table_of(r)) == want);
}

// Every field of `a` and `b`, compared through the field table: what it does not list cannot
// survive a store or an export.
template <typename Record>
bool same_fields(Record a, Record b) {
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        const FieldRef x = f.ref(a);
        const FieldRef y = f.ref(b);
        const bool same = std::visit(
            [&](auto px) {
                using P = decltype(px);
                const P py = std::get<P>(y);
                if constexpr (std::is_same_v<P, BytesRef> || std::is_same_v<P, LabelRef>) {
                    return *px.value == *py.value;
                } else if constexpr (std::is_same_v<P, ParsedRef>) {
                    return *px.parse_ok == *py.parse_ok;
                } else {
                    return *px == *py;
                }
            },
            x);
        if (!same) {
            UNSCOPED_INFO("field " << f.column << " differs");
            return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE("Each record's field table names exactly its table's columns") {
    TempDir dir;
    const auto path = dir.file("t.db");
    { TapeStore store(path, OpenMode::create); }
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    check_table<Session>(db);
    check_table<Connection>(db);
    check_table<Frame>(db, {"id"});  // the row id the REST pages point at
    check_table<ClientMessage>(db);
    check_table<Gap>(db);
    check_table<BackfillItem>(db);
}

TEST_CASE("Every field of every record survives the store and an export and import") {
    TempDir dir;
    TapeStore store(dir.file("t.db"), OpenMode::create);
    Session s;
    s.label = "all fields";
    s.source = "wss://example.social";
    s.instance = "example.social";
    s.transport = Transport::websocket;
    s.subscriptions = {{"hashtag", "caf\xc3\xa9"}, {"user", ""}};
    s.started_wall_ns = 1'700'000'000'000'000'000;
    s.ended_wall_ns = s.started_wall_ns + 9'000;
    s.ended_offset_ns = 9'000;
    s.end_reason = SessionEnd::count;
    s.end_detail = "3 events";
    s.updated_wall_ns = *s.ended_wall_ns;
    s.settings_json = R"({"heartbeat_timeout_ms":75000})";
    const std::int64_t id = store.create_session(s);
    s.id = id;

    Batch b;
    b.session_id = id;
    Connection c;
    c.session_id = id;
    c.url = "wss://example.social/api/v1/streaming";
    c.started_offset_ns = 10;
    c.started_wall_ns = s.started_wall_ns + 10;
    c.handshake_offset_ns = 20;
    c.http_status = 101;
    c.error_message = "none";
    c.subprotocol = "[token]";
    c.response_headers_json = R"({"X-Request-Id":"r"})";
    c.ended_offset_ns = 8'000;
    c.ended_wall_ns = s.started_wall_ns + 8'000;
    c.end_cause = EndCause::close;
    c.close_code = 4001;
    c.close_reason = "bye";
    c.end_detail = "closed";
    b.records.push_back(c);
    Frame f;
    f.session_id = id;
    f.seq = 1;
    f.offset_ns = 30;
    f.wall_ns = s.started_wall_ns + 30;
    f.bytes = std::string("\x00\xff not text", 11);
    f.columns.kind = FrameKind::binary;
    f.columns.parse_ok = true;
    b.records.push_back(f);
    ClientMessage m;
    m.session_id = id;
    m.seq = 1;
    m.offset_ns = 25;
    m.wall_ns = s.started_wall_ns + 25;
    m.kind = MessageKind::text;
    m.bytes = R"({"type":"subscribe","stream":"user"})";
    b.records.push_back(m);
    Gap g;
    g.session_id = id;
    g.from_connection_idx = 0;
    g.start_offset_ns = 8'000;
    g.start_wall_ns = s.started_wall_ns + 8'000;
    g.cause = EndCause::close;
    g.last_seq_before = 1;
    g.backfill_status = BackfillStatus::partial;
    g.backfill_error = "HTTP 429";
    g.backfilled = 1;
    b.records.push_back(g);
    BackfillItem item;
    item.session_id = id;
    item.seq = 1;
    item.offset_ns = 8'500;
    item.wall_ns = s.started_wall_ns + 8'500;
    item.endpoint = "/api/v1/timelines/home";
    item.query = "min_id=1&limit=40";
    item.http_status = 200;
    item.object_id = "2";
    item.body = R"({"id":"2"})";
    item.already_streamed = true;
    b.records.push_back(item);
    store.append(b);

    const auto check = [&](TapeStore& t, std::int64_t sid, bool same_ids) {
        Session got = t.session(sid);
        if (!same_ids) {
            got.id = s.id;
        }
        CHECK(same_fields(got, s));
        const auto fix = [&](auto r) {
            r.session_id = id;
            return r;
        };
        CHECK(same_fields(fix(t.connections(sid).at(0)), c));
        CHECK(same_fields(fix(t.gaps(sid).at(0)), g));
        CHECK(same_fields(fix(t.client_messages(sid).at(0)), m));
        CHECK(same_fields(fix(t.backfill(sid).at(0)), item));
        Frame read;
        auto cursor = t.frames_from_seq(sid, 1);
        REQUIRE(cursor.next(read));
        CHECK(same_fields(fix(read), f));
    };
    check(store, id, true);

    std::ostringstream out;
    export_session(store, id, out);
    std::istringstream in(out.str());
    TapeStore copy(dir.file("copy.db"), OpenMode::create);
    const std::int64_t copied = import_jsonl(copy, in, "x.jsonl");
    check(copy, copied, false);
    std::ostringstream again;
    export_session(copy, copied, again);
    CHECK(again.str() == out.str());
}

TEST_CASE("What the tape keeps by name has the names it always had, and reads back") {
    // The tape format and JSONL: these strings are on disk; a change here is a format change.
    const std::vector<std::pair<SessionEnd, std::string_view>> ends{
        {SessionEnd::open, ""},
        {SessionEnd::stopped, "stopped"},
        {SessionEnd::duration, "duration"},
        {SessionEnd::count, "count"},
        {SessionEnd::error, "error"},
        {SessionEnd::interrupted, "interrupted"},
        {SessionEnd::rotated, "rotated"}};
    const auto read_back = [](const auto& table, auto from_string) {
        for (const auto& [value, name] : table) {
            CHECK(to_string(value) == name);
            CHECK(from_string(name) == value);
        }
    };
    read_back(ends, session_end_from_string);
    read_back(
        std::vector<std::pair<EndCause, std::string_view>>{{EndCause::local_stop, "local-stop"},
                                                           {EndCause::rotated, "rotated"}},
        end_cause_from_string);
    const std::vector<std::pair<MessageKind, std::string_view>> kinds{
        {MessageKind::text, "text"},
        {MessageKind::binary, "binary"},
        {MessageKind::ping, "ping"},
        {MessageKind::pong, "pong"},
        {MessageKind::close, "close"}};
    read_back(kinds, message_kind_from_string);
    CHECK_FALSE(session_end_from_string("repaired"));
    CHECK_FALSE(message_kind_from_string("continuation"));
    CHECK(token_in_from_string("subprotocol") == TokenIn::subprotocol);
    CHECK_FALSE(token_in_from_string("cookie"));

    // A name this version does not know is refused in one line, not read as something else.
    TempDir dir;
    const std::string db = dir.file("t.db");
    {
        TapeStore store(db, OpenMode::create);
        Session s;
        s.label = "x";
        store.create_session(s);
    }
    {
        SQLite::Database raw(db, SQLite::OPEN_READWRITE);
        raw.exec("UPDATE sessions SET end_reason = 'repaired'");
    }
    TapeStore store(db, OpenMode::read);
    CHECK_THROWS_WITH(store.session(1),
                      Catch::Contains("unknown end reason \"repaired\" (written by a newer"));
}
