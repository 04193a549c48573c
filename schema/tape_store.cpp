#include "schema/tape_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "schema/migrations.hpp"
#include "schema/wal_checkpointer.hpp"

namespace mastotape::schema {
namespace {

namespace fs = std::filesystem;

// A one-line reason for a SQLite failure, phrased for the user.
std::string describe(const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    switch (code) {
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return std::string("corrupt tape (") + e.what() + "); try `mastotape verify`";
        case SQLITE_FULL:
            return "disk full; nothing of the last batch was written";
        case SQLITE_READONLY:
            return "read-only location; copy the tape somewhere writable";
        case SQLITE_CANTOPEN:
            return "cannot open (missing directory or no permission)";
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return "tape is locked by another writer";
        case SQLITE_IOERR:
            return std::string("I/O error (") + e.what() + ")";
        default:
            return e.what();
    }
}

template <typename F>
auto guarded(const std::string& path, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const SQLite::Exception& e) {
        throw TapeError(path + ": " + describe(e));
    }
}

std::optional<std::int64_t> opt_int(const SQLite::Column& c) {
    if (c.isNull()) {
        return std::nullopt;
    }
    return c.getInt64();
}

// A text or blob column's bytes, valid until the statement steps.
std::string_view column_bytes(const SQLite::Column& c) {
    const auto* data = static_cast<const char*>(c.getBlob());
    return std::string_view(data == nullptr ? "" : data, static_cast<std::size_t>(c.getBytes()));
}

std::string blob(const SQLite::Column& c) { return std::string(column_bytes(c)); }

void bind_opt(SQLite::Statement& st, int i, const std::optional<std::int64_t>& v) {
    if (v) {
        st.bind(i, *v);
    } else {
        st.bind(i);
    }
}

void bind_blob(SQLite::Statement& st, int i, const std::string& bytes) {
    st.bind(i, bytes.data(), static_cast<int>(bytes.size()));
}

std::string subscriptions_to_json(const std::vector<Subscription>& subs) {
    nlohmann::ordered_json array = nlohmann::ordered_json::array();
    for (const auto& s : subs) {
        nlohmann::ordered_json o;
        o["stream"] = s.stream;
        if (!s.param.empty()) {
            o["param"] = s.param;
        }
        array.push_back(o);
    }
    return array.dump();
}

std::vector<Subscription> subscriptions_from_json(const std::string& text) {
    std::vector<Subscription> out;
    auto array = nlohmann::json::parse(text, nullptr, false);
    if (!array.is_array()) {
        return out;
    }
    for (const auto& o : array) {
        if (o.is_object() && o.contains("stream") && o.at("stream").is_string()) {
            out.push_back({o.at("stream").get<std::string>(), o.value("param", std::string())});
        }
    }
    return out;
}

constexpr const char* kSessionColumns =
    "id, label, source, instance, transport, subscriptions, started_wall_ns, ended_wall_ns, "
    "ended_offset_ns, end_reason, end_detail, updated_wall_ns, settings";

Session read_session(SQLite::Statement& st) {
    Session s;
    s.id = st.getColumn(0).getInt64();
    s.label = st.getColumn(1).getString();
    s.source = st.getColumn(2).getString();
    s.instance = st.getColumn(3).getString();
    s.transport = transport_from_string(st.getColumn(4).getString()).value_or(Transport::websocket);
    s.subscriptions = subscriptions_from_json(st.getColumn(5).getString());
    s.started_wall_ns = st.getColumn(6).getInt64();
    s.ended_wall_ns = opt_int(st.getColumn(7));
    s.ended_offset_ns = opt_int(st.getColumn(8));
    s.end_reason = st.getColumn(9).getString();
    s.end_detail = st.getColumn(10).getString();
    s.updated_wall_ns = st.getColumn(11).getInt64();
    s.settings_json = st.getColumn(12).getString();
    return s;
}

constexpr const char* kFrameColumns =
    "session_id, seq, connection_idx, offset_ns, wall_ns, kind, parse_ok, stream, event, "
    "object_id, bytes";

// Fills `f` reusing its strings' storage: the replayer reads every frame through one Frame.
void read_frame(SQLite::Statement& st, Frame& f) {
    const auto text = [&](int i) { return column_bytes(st.getColumn(i)); };
    const auto text_or_null = [&](int i, std::optional<std::string>& out) {
        if (st.isColumnNull(i)) {
            out.reset();
        } else if (out) {
            out->assign(text(i));
        } else {
            out.emplace(text(i));
        }
    };
    f.session_id = st.getColumn(0).getInt64();
    f.seq = st.getColumn(1).getInt64();
    f.connection_idx = st.getColumn(2).getInt64();
    f.offset_ns = st.getColumn(3).getInt64();
    f.wall_ns = st.getColumn(4).getInt64();
    f.columns.kind = frame_kind_from_string(text(5)).value_or(FrameKind::text);
    f.columns.parse_ok = st.getColumn(6).getInt() != 0;
    text_or_null(7, f.columns.stream);
    text_or_null(8, f.columns.event);
    text_or_null(9, f.columns.object_id);
    f.bytes.assign(text(10));
}

void bind_opt_text(SQLite::Statement& st, int i, const std::optional<std::string>& v) {
    if (v) {
        st.bind(i, *v);
    } else {
        st.bind(i);
    }
}

// Checks the first bytes before SQLite sees the file, so that a non-SQLite file is reported as
// such and never touched.
void check_sqlite_header(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw TapeError(path + ": cannot read (permission denied?)");
    }
    char header[16] = {};
    in.read(header, sizeof header);
    if (in.gcount() == 0) {
        return;  // an empty file is a new database
    }
    if (in.gcount() < 16 ||
        std::string_view(header, 16) != std::string_view("SQLite format 3\0", 16)) {
        throw TapeError(path + ": not a SQLite file, so not a mastotape tape");
    }
}

}  // namespace

struct TapeStore::Impl {
    explicit Impl(const std::string& path, int flags) : db(path, flags) {}

    SQLite::Database db;
    std::unique_ptr<SQLite::Statement> insert_frame;
    std::unique_ptr<SQLite::Statement> insert_client_message;
    std::unique_ptr<SQLite::Statement> upsert_connection;
    std::unique_ptr<SQLite::Statement> upsert_gap;
    std::unique_ptr<SQLite::Statement> insert_backfill;
    std::unique_ptr<SQLite::Statement> touch_session;
    int transaction_depth = 0;
    // Declared after `db`: stopped before the connection closes, so that the writer's close is
    // the tape's last and removes the WAL.
    std::unique_ptr<WalCheckpointer> checkpointer;
    CheckpointPages checkpoint_pages;
    int wal_pages = 0;
    int force_checkpoint_at = 0;

    // SQLite's WAL hook: runs after each commit, with its locks released.
    static int on_wal_commit(void* self, sqlite3*, const char*, int pages) noexcept {
        auto& impl = *static_cast<Impl*>(self);
        if (pages < impl.wal_pages) {
            impl.force_checkpoint_at = impl.checkpoint_pages.force;  // the WAL started over
        }
        impl.wal_pages = pages;
        if (pages >= impl.force_checkpoint_at) {
            impl.checkpointer->run_and_wait();
            impl.force_checkpoint_at = pages + impl.checkpoint_pages.force;
        } else if (pages >= impl.checkpoint_pages.ask) {
            impl.checkpointer->request();
        }
        return SQLITE_OK;
    }

    void prepare_writers() {
        insert_frame = std::make_unique<SQLite::Statement>(
            db,
            "INSERT INTO frames (session_id, seq, connection_idx, offset_ns, wall_ns, kind, "
            "parse_ok, stream, event, object_id, bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
        insert_client_message = std::make_unique<SQLite::Statement>(
            db,
            "INSERT INTO client_messages (session_id, seq, connection_idx, offset_ns, wall_ns, "
            "after_seq, kind, bytes) VALUES (?,?,?,?,?,?,?,?)");
        upsert_connection = std::make_unique<SQLite::Statement>(
            db,
            "INSERT OR REPLACE INTO connections (session_id, idx, url, started_offset_ns, "
            "started_wall_ns, handshake_offset_ns, http_status, error_message, subprotocol, "
            "response_headers, ended_offset_ns, ended_wall_ns, end_cause, close_code, "
            "close_reason, end_detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        upsert_gap = std::make_unique<SQLite::Statement>(
            db,
            "INSERT OR REPLACE INTO gaps (session_id, idx, from_connection_idx, start_offset_ns, "
            "start_wall_ns, end_offset_ns, end_wall_ns, cause, last_seq_before, "
            "backfill_status, backfill_error, backfilled) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
        insert_backfill = std::make_unique<SQLite::Statement>(
            db,
            "INSERT INTO backfill_items (session_id, seq, gap_idx, offset_ns, wall_ns, endpoint, "
            "query, http_status, object_id, already_streamed, body) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)");
        touch_session = std::make_unique<SQLite::Statement>(
            db, "UPDATE sessions SET updated_wall_ns = ? WHERE id = ?");
    }
};

struct FrameCursor::Impl {
    std::string path;
    std::unique_ptr<SQLite::Statement> st;
};

FrameCursor::FrameCursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FrameCursor::FrameCursor(FrameCursor&&) noexcept = default;
FrameCursor& FrameCursor::operator=(FrameCursor&&) noexcept = default;
FrameCursor::~FrameCursor() = default;

bool FrameCursor::next(Frame& out) {
    try {
        if (!impl_->st->executeStep()) {
            return false;
        }
        read_frame(*impl_->st, out);
        return true;
    } catch (const SQLite::Exception& e) {
        throw TapeError(impl_->path + ": " + describe(e));
    }
}

TapeStore::TapeStore(const std::string& path, OpenMode mode) : path_(path) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    if (!exists && mode != OpenMode::create) {
        throw TapeError(path +
                        ": no such tape (make one with `mastotape synth`, `mastotape record` "
                        "or `mastotape import`)");
    }
    if (exists) {
        if (fs::is_directory(path, ec)) {
            throw TapeError(path + ": is a directory, not a tape");
        }
        check_sqlite_header(path);
    }
    const bool writable = exists ? ::access(path.c_str(), W_OK) == 0 : true;
    if (!exists) {
        const fs::path parent = fs::absolute(path, ec).parent_path();
        if (!fs::is_directory(parent, ec)) {
            throw TapeError(path + ": cannot create tape: directory " + parent.string() +
                            " does not exist");
        }
        if (::access(parent.c_str(), W_OK) != 0) {
            throw TapeError(path + ": cannot create tape: read-only location");
        }
    }
    if (mode != OpenMode::read && !writable) {
        throw TapeError(path + ": read-only file; cannot write to this tape");
    }
    try {
        open(exists, writable, mode);
    } catch (const SQLite::Exception& e) {
        if (!exists) {
            throw TapeError(path_ +
                            ": cannot create tape here (read-only location or no "
                            "permission): " +
                            e.getErrorStr());
        }
        throw TapeError(path_ + ": " + describe(e));
    }
}

void TapeStore::open(bool exists, bool writable, OpenMode mode) {
    {
        int flags = writable ? SQLite::OPEN_READWRITE : SQLite::OPEN_READONLY;
        if (!exists) {
            flags |= SQLite::OPEN_CREATE;
        }
        impl_ = std::make_unique<Impl>(path_, flags);
        impl_->db.setBusyTimeout(5000);
        const int app_id = impl_->db.execAndGet("PRAGMA application_id").getInt();
        const int version = impl_->db.execAndGet("PRAGMA user_version").getInt();
        const int tables = impl_->db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
        if (app_id != kApplicationId && (app_id != 0 || tables != 0 || version != 0)) {
            throw TapeError(path_ + ": a SQLite database, but not a mastotape tape");
        }
        if (version == 0 && mode == OpenMode::read) {
            throw TapeError(path_ + ": an empty database, not a mastotape tape");
        }
        if (version > current_schema_version()) {
            throw TapeError(path_ + ": tape format version " + std::to_string(version) +
                            " is newer than this mastotape understands (" +
                            std::to_string(current_schema_version()) + "); upgrade mastotape");
        }
        if (version < current_schema_version()) {
            if (!writable) {
                throw TapeError(path_ + ": tape format version " + std::to_string(version) +
                                " needs migrating, but the file is read-only");
            }
            if (version == 0 && tables == 0) {
                // Frames are 0.1-4 KB: 16 KB pages keep most of them out of overflow pages.
                impl_->db.exec("PRAGMA page_size = 16384");
            }
            impl_->db.exec("PRAGMA journal_mode = WAL");
            SQLite::Transaction tx(impl_->db);
            if (version == 0) {
                impl_->db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
            }
            for (int v = version; v < current_schema_version(); ++v) {
                impl_->db.exec(std::string(migrations()[static_cast<std::size_t>(v)]));
            }
            impl_->db.exec("PRAGMA user_version = " + std::to_string(current_schema_version()));
            tx.commit();
        }
        if (mode != OpenMode::read) {
            // A reader never writes, so that reading a tape can never change it.
            impl_->db.exec("PRAGMA journal_mode = WAL");
            impl_->db.exec("PRAGMA synchronous = NORMAL");
            impl_->prepare_writers();
        }
    }
}

TapeStore::~TapeStore() = default;

std::int32_t TapeStore::schema_version() const {
    return guarded(path_, [&] { return impl_->db.execAndGet("PRAGMA user_version").getInt(); });
}

void TapeStore::begin() {
    guarded(path_, [&] {
        if (impl_->transaction_depth++ == 0) {
            impl_->db.exec("BEGIN IMMEDIATE");
        }
    });
}

void TapeStore::commit() {
    guarded(path_, [&] {
        if (--impl_->transaction_depth == 0) {
            impl_->db.exec("COMMIT");
        }
    });
}

void TapeStore::rollback() {
    if (--impl_->transaction_depth == 0) {
        try {
            impl_->db.exec("ROLLBACK");
        } catch (const SQLite::Exception&) {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); nothing is left open.
        }
    }
}

std::int64_t TapeStore::create_session(const Session& s) {
    if (!impl_->insert_frame) {
        throw TapeError(path_ + ": opened read-only");
    }
    return guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "INSERT INTO sessions (label, source, instance, transport, "
                             "subscriptions, started_wall_ns, ended_wall_ns, ended_offset_ns, "
                             "end_reason, end_detail, updated_wall_ns, settings) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
        st.bind(1, s.label);
        st.bind(2, s.source);
        st.bind(3, s.instance);
        st.bind(4, std::string(to_string(s.transport)));
        st.bind(5, subscriptions_to_json(s.subscriptions));
        st.bind(6, s.started_wall_ns);
        bind_opt(st, 7, s.ended_wall_ns);
        bind_opt(st, 8, s.ended_offset_ns);
        st.bind(9, s.end_reason);
        st.bind(10, s.end_detail);
        st.bind(11, s.updated_wall_ns != 0 ? s.updated_wall_ns : s.started_wall_ns);
        st.bind(12, s.settings_json);
        st.exec();
        return impl_->db.getLastInsertRowid();
    });
}

void TapeStore::end_session(std::int64_t id, std::int64_t ended_wall_ns,
                            std::int64_t ended_offset_ns, const std::string& reason,
                            const std::string& detail) {
    guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "UPDATE sessions SET ended_wall_ns = ?, ended_offset_ns = ?, "
                             "end_reason = ?, end_detail = ?, updated_wall_ns = ? WHERE id = ?");
        st.bind(1, ended_wall_ns);
        st.bind(2, ended_offset_ns);
        st.bind(3, reason);
        st.bind(4, detail);
        st.bind(5, ended_wall_ns);
        st.bind(6, id);
        st.exec();
    });
}

void TapeStore::set_bulk_load(bool on) {
    guarded(path_, [&] {
        impl_->db.exec(on ? "PRAGMA journal_mode = OFF" : "PRAGMA journal_mode = WAL");
        impl_->db.exec(on ? "PRAGMA synchronous = OFF" : "PRAGMA synchronous = NORMAL");
    });
}

void TapeStore::checkpoint_in_background(CheckpointPages pages) {
    if (impl_->checkpointer || !impl_->insert_frame) {
        return;
    }
    try {
        impl_->checkpointer = std::make_unique<WalCheckpointer>(path_);
    } catch (const SQLite::Exception&) {
        return;  // SQLite's automatic checkpoints go on as before
    }
    impl_->checkpoint_pages = pages;
    impl_->force_checkpoint_at = pages.force;
    sqlite3_wal_hook(impl_->db.getHandle(), &Impl::on_wal_commit, impl_.get());
}

std::int64_t TapeStore::background_checkpoints() const {
    return impl_->checkpointer ? impl_->checkpointer->rounds_done() : 0;
}

void TapeStore::set_synchronous_full() {
    guarded(path_, [&] { impl_->db.exec("PRAGMA synchronous = FULL"); });
}

void TapeStore::set_session_end(const Session& s) {
    guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "UPDATE sessions SET ended_wall_ns = ?, ended_offset_ns = ?, "
                             "end_reason = ?, end_detail = ? WHERE id = ?");
        bind_opt(st, 1, s.ended_wall_ns);
        bind_opt(st, 2, s.ended_offset_ns);
        st.bind(3, s.end_reason);
        st.bind(4, s.end_detail);
        st.bind(5, s.id);
        st.exec();
    });
}

void TapeStore::append(const Batch& b) {
    if (!impl_->insert_frame) {
        throw TapeError(path_ + ": opened read-only");
    }
    in_transaction([&] {
        guarded(path_, [&] {
            // tryReset(): a statement that failed in an earlier batch still holds its error, which
            // reset() would throw again.
            for (const auto& c : b.connections) {
                auto& st = *impl_->upsert_connection;
                st.tryReset();
                st.bind(1, c.session_id);
                st.bind(2, c.idx);
                st.bind(3, c.url);
                st.bind(4, c.started_offset_ns);
                st.bind(5, c.started_wall_ns);
                bind_opt(st, 6, c.handshake_offset_ns);
                bind_opt(st, 7, c.http_status);
                st.bind(8, c.error_message);
                st.bind(9, c.subprotocol);
                st.bind(10, c.response_headers_json);
                bind_opt(st, 11, c.ended_offset_ns);
                bind_opt(st, 12, c.ended_wall_ns);
                st.bind(13, c.end_cause);
                bind_opt(st, 14, c.close_code);
                st.bind(15, c.close_reason);
                st.bind(16, c.end_detail);
                st.exec();
            }
            for (const auto& f : b.frames) {
                auto& st = *impl_->insert_frame;
                st.tryReset();
                st.bind(1, f.session_id);
                st.bind(2, f.seq);
                st.bind(3, f.connection_idx);
                st.bind(4, f.offset_ns);
                st.bind(5, f.wall_ns);
                st.bind(6, std::string(to_string(f.columns.kind)));
                st.bind(7, static_cast<std::int64_t>(f.columns.parse_ok ? 1 : 0));
                bind_opt_text(st, 8, f.columns.stream);
                bind_opt_text(st, 9, f.columns.event);
                bind_opt_text(st, 10, f.columns.object_id);
                st.bindNoCopy(11, static_cast<const void*>(f.bytes.data()),
                              static_cast<int>(f.bytes.size()));
                st.exec();
            }
            for (const auto& m : b.client_messages) {
                auto& st = *impl_->insert_client_message;
                st.tryReset();
                st.bind(1, m.session_id);
                st.bind(2, m.seq);
                st.bind(3, m.connection_idx);
                st.bind(4, m.offset_ns);
                st.bind(5, m.wall_ns);
                st.bind(6, m.after_seq);
                st.bind(7, m.kind);
                bind_blob(st, 8, m.bytes);
                st.exec();
            }
            for (const auto& g : b.gaps) {
                auto& st = *impl_->upsert_gap;
                st.tryReset();
                st.bind(1, g.session_id);
                st.bind(2, g.idx);
                st.bind(3, g.from_connection_idx);
                st.bind(4, g.start_offset_ns);
                st.bind(5, g.start_wall_ns);
                bind_opt(st, 6, g.end_offset_ns);
                bind_opt(st, 7, g.end_wall_ns);
                st.bind(8, g.cause);
                st.bind(9, g.last_seq_before);
                st.bind(10, g.backfill_status);
                st.bind(11, g.backfill_error);
                st.bind(12, g.backfilled);
                st.exec();
            }
            for (const auto& item : b.backfill) {
                auto& st = *impl_->insert_backfill;
                st.tryReset();
                st.bind(1, item.session_id);
                st.bind(2, item.seq);
                st.bind(3, item.gap_idx);
                st.bind(4, item.offset_ns);
                st.bind(5, item.wall_ns);
                st.bind(6, item.endpoint);
                st.bind(7, item.query);
                st.bind(8, item.http_status);
                st.bind(9, item.object_id);
                st.bind(10, static_cast<std::int64_t>(item.already_streamed ? 1 : 0));
                bind_blob(st, 11, item.body);
                st.exec();
            }
            if (b.now_wall_ns != 0) {
                auto& st = *impl_->touch_session;
                st.tryReset();
                st.bind(1, b.now_wall_ns);
                st.bind(2, b.session_id);
                st.exec();
            }
        });
    });
}

std::vector<Session> TapeStore::sessions() {
    return guarded(path_, [&] {
        std::vector<Session> out;
        SQLite::Statement st(
            impl_->db, std::string("SELECT ") + kSessionColumns + " FROM sessions ORDER BY id");
        while (st.executeStep()) {
            out.push_back(read_session(st));
        }
        return out;
    });
}

Session TapeStore::session(std::int64_t id) {
    return guarded(path_, [&] {
        SQLite::Statement st(
            impl_->db, std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id = ?");
        st.bind(1, id);
        if (!st.executeStep()) {
            throw TapeError(path_ + ": no session " + std::to_string(id) +
                            " (list them with `mastotape sessions`)");
        }
        return read_session(st);
    });
}

std::int64_t TapeStore::newest_session_id() {
    return guarded(path_, [&] {
        SQLite::Statement st(impl_->db, "SELECT max(id) FROM sessions");
        st.executeStep();
        if (st.getColumn(0).isNull()) {
            throw TapeError(path_ + ": the tape holds no sessions");
        }
        return st.getColumn(0).getInt64();
    });
}

SessionCounts TapeStore::counts(std::int64_t session_id) {
    return guarded(path_, [&] {
        SessionCounts c;
        {
            SQLite::Statement st(impl_->db,
                                 "SELECT kind, count(*) FROM frames WHERE session_id = ? "
                                 "GROUP BY kind");
            st.bind(1, session_id);
            while (st.executeStep()) {
                const auto n = st.getColumn(1).getInt64();
                c.by_kind[st.getColumn(0).getString()] = n;
                c.frames += n;
            }
        }
        c.events = c.by_kind.count("event") ? c.by_kind["event"] : 0;
        c.heartbeats = (c.by_kind.count("ping") ? c.by_kind["ping"] : 0) +
                       (c.by_kind.count("comment") ? c.by_kind["comment"] : 0);
        {
            SQLite::Statement st(impl_->db,
                                 "SELECT event, count(*) FROM frames WHERE session_id = ? AND "
                                 "event IS NOT NULL GROUP BY event");
            st.bind(1, session_id);
            while (st.executeStep()) {
                c.by_event[st.getColumn(0).getString()] = st.getColumn(1).getInt64();
            }
        }
        auto scalar = [&](const char* sql) {
            SQLite::Statement st(impl_->db, sql);
            st.bind(1, session_id);
            st.executeStep();
            return st.getColumn(0).isNull() ? std::int64_t{0} : st.getColumn(0).getInt64();
        };
        c.connections = scalar("SELECT count(*) FROM connections WHERE session_id = ?");
        c.gaps = scalar("SELECT count(*) FROM gaps WHERE session_id = ?");
        c.backfilled = scalar("SELECT count(*) FROM backfill_items WHERE session_id = ?");
        c.client_messages = scalar("SELECT count(*) FROM client_messages WHERE session_id = ?");
        c.last_seq = scalar("SELECT max(seq) FROM frames WHERE session_id = ?");
        c.last_offset_ns = scalar("SELECT max(offset_ns) FROM frames WHERE session_id = ?");
        return c;
    });
}

std::vector<Connection> TapeStore::connections(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<Connection> out;
        SQLite::Statement st(impl_->db,
                             "SELECT session_id, idx, url, started_offset_ns, started_wall_ns, "
                             "handshake_offset_ns, http_status, error_message, subprotocol, "
                             "response_headers, ended_offset_ns, ended_wall_ns, end_cause, "
                             "close_code, close_reason, end_detail FROM connections "
                             "WHERE session_id = ? ORDER BY idx");
        st.bind(1, session_id);
        while (st.executeStep()) {
            Connection c;
            c.session_id = st.getColumn(0).getInt64();
            c.idx = st.getColumn(1).getInt64();
            c.url = st.getColumn(2).getString();
            c.started_offset_ns = st.getColumn(3).getInt64();
            c.started_wall_ns = st.getColumn(4).getInt64();
            c.handshake_offset_ns = opt_int(st.getColumn(5));
            c.http_status = opt_int(st.getColumn(6));
            c.error_message = st.getColumn(7).getString();
            c.subprotocol = st.getColumn(8).getString();
            c.response_headers_json = st.getColumn(9).getString();
            c.ended_offset_ns = opt_int(st.getColumn(10));
            c.ended_wall_ns = opt_int(st.getColumn(11));
            c.end_cause = st.getColumn(12).getString();
            c.close_code = opt_int(st.getColumn(13));
            c.close_reason = st.getColumn(14).getString();
            c.end_detail = st.getColumn(15).getString();
            out.push_back(std::move(c));
        }
        return out;
    });
}

std::vector<Gap> TapeStore::gaps(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<Gap> out;
        SQLite::Statement st(impl_->db,
                             "SELECT session_id, idx, from_connection_idx, start_offset_ns, "
                             "start_wall_ns, end_offset_ns, end_wall_ns, cause, last_seq_before, "
                             "backfill_status, backfill_error, backfilled FROM gaps "
                             "WHERE session_id = ? ORDER BY idx");
        st.bind(1, session_id);
        while (st.executeStep()) {
            Gap g;
            g.session_id = st.getColumn(0).getInt64();
            g.idx = st.getColumn(1).getInt64();
            g.from_connection_idx = st.getColumn(2).getInt64();
            g.start_offset_ns = st.getColumn(3).getInt64();
            g.start_wall_ns = st.getColumn(4).getInt64();
            g.end_offset_ns = opt_int(st.getColumn(5));
            g.end_wall_ns = opt_int(st.getColumn(6));
            g.cause = st.getColumn(7).getString();
            g.last_seq_before = st.getColumn(8).getInt64();
            g.backfill_status = st.getColumn(9).getString();
            g.backfill_error = st.getColumn(10).getString();
            g.backfilled = st.getColumn(11).getInt64();
            out.push_back(std::move(g));
        }
        return out;
    });
}

std::vector<ClientMessage> TapeStore::client_messages(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<ClientMessage> out;
        SQLite::Statement st(impl_->db,
                             "SELECT session_id, seq, connection_idx, offset_ns, wall_ns, "
                             "after_seq, kind, bytes FROM client_messages WHERE session_id = ? "
                             "ORDER BY seq");
        st.bind(1, session_id);
        while (st.executeStep()) {
            ClientMessage m;
            m.session_id = st.getColumn(0).getInt64();
            m.seq = st.getColumn(1).getInt64();
            m.connection_idx = st.getColumn(2).getInt64();
            m.offset_ns = st.getColumn(3).getInt64();
            m.wall_ns = st.getColumn(4).getInt64();
            m.after_seq = st.getColumn(5).getInt64();
            m.kind = st.getColumn(6).getString();
            m.bytes = blob(st.getColumn(7));
            out.push_back(std::move(m));
        }
        return out;
    });
}

std::vector<BackfillItem> TapeStore::backfill(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<BackfillItem> out;
        SQLite::Statement st(impl_->db,
                             "SELECT session_id, seq, gap_idx, offset_ns, wall_ns, endpoint, "
                             "query, http_status, object_id, already_streamed, body "
                             "FROM backfill_items WHERE session_id = ? ORDER BY seq");
        st.bind(1, session_id);
        while (st.executeStep()) {
            BackfillItem b;
            b.session_id = st.getColumn(0).getInt64();
            b.seq = st.getColumn(1).getInt64();
            b.gap_idx = st.getColumn(2).getInt64();
            b.offset_ns = st.getColumn(3).getInt64();
            b.wall_ns = st.getColumn(4).getInt64();
            b.endpoint = st.getColumn(5).getString();
            b.query = st.getColumn(6).getString();
            b.http_status = st.getColumn(7).getInt64();
            b.object_id = st.getColumn(8).getString();
            b.already_streamed = st.getColumn(9).getInt() != 0;
            b.body = blob(st.getColumn(10));
            out.push_back(std::move(b));
        }
        return out;
    });
}

FrameCursor TapeStore::frames_from_seq(std::int64_t session_id, std::int64_t from_seq) {
    return guarded(path_, [&] {
        auto impl = std::make_unique<FrameCursor::Impl>();
        impl->path = path_;
        impl->st = std::make_unique<SQLite::Statement>(
            impl_->db, std::string("SELECT ") + kFrameColumns +
                           " FROM frames WHERE session_id = ? AND seq >= ? ORDER BY seq");
        impl->st->bind(1, session_id);
        impl->st->bind(2, from_seq);
        return FrameCursor(std::move(impl));
    });
}

// An ItemScan runs as one index range per id length: within a length, text order is id order,
// and moving to the next length present is one index seek.
struct ItemCursor::Impl {
    SQLite::Database* db = nullptr;
    std::string path;
    std::int64_t session_id = 0;
    ItemScan scan;
    std::optional<std::int64_t> length;  // of the ids the statement walks
    std::unique_ptr<SQLite::Statement> st;
    bool done = false;

    bool frames() const { return scan.source == ItemScan::Source::frames; }

    // "FROM ... WHERE ..." with the scan's fixed constraints; bind() fills them in from 1.
    std::string from_where() const {
        return frames() ? "FROM frames INDEXED BY frames_by_event WHERE session_id = ? AND "
                          "event = ? AND stream IS ? AND offset_ns <= ?"
                        : "FROM backfill_items INDEXED BY backfill_by_endpoint WHERE session_id = "
                          "? AND endpoint = ? AND http_status = 200";
    }
    int bind(SQLite::Statement& q) const {
        int i = 1;
        q.bind(i++, session_id);
        q.bind(i++, scan.key);
        if (frames()) {
            bind_opt_text(q, i++, scan.stream);
            q.bind(i++, scan.max_offset_ns);
        }
        return i;
    }

    // The next id length present in the scan's direction, within its bounds.
    std::optional<std::int64_t> next_length() const {
        const bool down = scan.newest_first;
        const auto& far = down ? scan.after : scan.before;  // the bound the scan moves to
        const auto& near = down ? scan.before : scan.after;
        std::string cmp = down ? " < ?" : " > ?";
        std::optional<std::int64_t> from = length;
        if (!from && near) {
            from = static_cast<std::int64_t>(near->size());
            cmp = down ? " <= ?" : " >= ?";
        }
        SQLite::Statement q(*db, "SELECT length(object_id) " + from_where() +
                                     (from ? " AND length(object_id)" + cmp : std::string()) +
                                     " ORDER BY length(object_id) " + (down ? "DESC" : "ASC") +
                                     " LIMIT 1");
        const int i = bind(q);
        if (from) {
            q.bind(i, *from);
        }
        if (!q.executeStep() || q.getColumn(0).isNull()) {
            return std::nullopt;
        }
        const std::int64_t found = q.getColumn(0).getInt64();
        if (far && (down ? found < static_cast<std::int64_t>(far->size())
                         : found > static_cast<std::int64_t>(far->size()))) {
            return std::nullopt;
        }
        return found;
    }

    void open_length(std::int64_t n) {
        length = n;
        const bool below = scan.before && static_cast<std::int64_t>(scan.before->size()) == n;
        const bool above = scan.after && static_cast<std::int64_t>(scan.after->size()) == n;
        st = std::make_unique<SQLite::Statement>(
            *db, std::string("SELECT object_id, ") +
                     (frames() ? "offset_ns, id, 0, '' " : "offset_ns, seq, gap_idx, query ") +
                     from_where() + " AND length(object_id) = ?" +
                     (below ? " AND object_id < ?" : "") + (above ? " AND object_id > ?" : "") +
                     " ORDER BY object_id " + (scan.newest_first ? "DESC" : "ASC"));
        int i = bind(*st);
        st->bind(i++, n);
        if (below) {
            st->bind(i++, *scan.before);
        }
        if (above) {
            st->bind(i++, *scan.after);
        }
    }
};

ItemCursor::ItemCursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ItemCursor::ItemCursor(ItemCursor&&) noexcept = default;
ItemCursor& ItemCursor::operator=(ItemCursor&&) noexcept = default;
ItemCursor::~ItemCursor() = default;

bool ItemCursor::next(ItemRow& out) {
    return guarded(impl_->path, [&] {
        Impl& c = *impl_;
        while (!c.done) {
            if (!c.st) {
                if (const auto n = c.next_length()) {
                    c.open_length(*n);
                } else {
                    c.done = true;
                    break;
                }
            }
            if (c.st->executeStep()) {
                out.object_id = c.st->getColumn(0).getString();
                out.offset_ns = c.st->getColumn(1).getInt64();
                out.row = c.st->getColumn(2).getInt64();
                out.gap_idx = c.st->getColumn(3).getInt64();
                out.query = c.st->getColumn(4).getString();
                return true;
            }
            c.st.reset();
        }
        return false;
    });
}

ItemCursor TapeStore::items_by_id(std::int64_t session_id, const ItemScan& scan) {
    auto impl = std::make_unique<ItemCursor::Impl>();
    impl->db = &impl_->db;
    impl->path = path_;
    impl->session_id = session_id;
    impl->scan = scan;
    return ItemCursor(std::move(impl));
}

std::map<std::int64_t, std::int64_t> TapeStore::backfill_fetch_ends(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::map<std::int64_t, std::int64_t> out;
        SQLite::Statement q(impl_->db,
                            "SELECT gap_idx, max(offset_ns) FROM backfill_items WHERE session_id "
                            "= ? GROUP BY gap_idx");
        q.bind(1, session_id);
        while (q.executeStep()) {
            out[q.getColumn(0).getInt64()] = q.getColumn(1).getInt64();
        }
        return out;
    });
}

std::vector<std::optional<std::string>> TapeStore::event_streams(std::int64_t session_id,
                                                                 const std::string& event) {
    return guarded(path_, [&] {
        // A skip scan: one index seek per distinct label, however many frames carry it.
        std::vector<std::optional<std::string>> out;
        SQLite::Statement none(impl_->db,
                               "SELECT 1 FROM frames INDEXED BY frames_by_event WHERE session_id = "
                               "? AND event = ? AND stream IS NULL LIMIT 1");
        none.bind(1, session_id);
        none.bind(2, event);
        if (none.executeStep()) {
            out.emplace_back(std::nullopt);
        }
        std::string last;
        for (;;) {
            SQLite::Statement q(impl_->db,
                                "SELECT stream FROM frames INDEXED BY frames_by_event WHERE "
                                "session_id = ? AND event = ? AND stream > ? ORDER BY stream "
                                "LIMIT 1");
            q.bind(1, session_id);
            q.bind(2, event);
            q.bind(3, last);
            if (!q.executeStep()) {
                return out;
            }
            last = q.getColumn(0).getString();
            out.emplace_back(last);
        }
    });
}

std::optional<std::pair<std::int64_t, std::int64_t>> TapeStore::latest_event(
    std::int64_t session_id, const std::string& event, const std::optional<std::string>& stream,
    const std::string& object_id, std::int64_t after_ns, std::int64_t until_ns) {
    return guarded(path_, [&]() -> std::optional<std::pair<std::int64_t, std::int64_t>> {
        // `object_id = ?` would let SQLite fold length(object_id) into a constant and lose the
        // index past the label; a one-value range keeps it.
        SQLite::Statement q(impl_->db,
                            "SELECT id, offset_ns FROM frames INDEXED BY frames_by_event WHERE "
                            "session_id = ? AND event = ? AND stream IS ? AND length(object_id) = "
                            "? AND object_id >= ? AND object_id <= ? AND offset_ns > ? AND "
                            "offset_ns <= ? ORDER BY offset_ns DESC LIMIT 1");
        q.bind(1, session_id);
        q.bind(2, event);
        bind_opt_text(q, 3, stream);
        q.bind(4, static_cast<std::int64_t>(object_id.size()));
        q.bind(5, object_id);
        q.bind(6, object_id);
        q.bind(7, after_ns);
        q.bind(8, until_ns);
        if (!q.executeStep()) {
            return std::nullopt;
        }
        return std::make_pair(q.getColumn(0).getInt64(), q.getColumn(1).getInt64());
    });
}

std::string TapeStore::frame_bytes(std::int64_t row) {
    return guarded(path_, [&] {
        SQLite::Statement q(impl_->db, "SELECT bytes FROM frames WHERE id = ?");
        q.bind(1, row);
        return q.executeStep() ? blob(q.getColumn(0)) : std::string();
    });
}

std::string TapeStore::backfill_body(std::int64_t session_id, std::int64_t seq) {
    return guarded(path_, [&] {
        SQLite::Statement q(impl_->db,
                            "SELECT body FROM backfill_items WHERE session_id = ? AND seq = ?");
        q.bind(1, session_id);
        q.bind(2, seq);
        return q.executeStep() ? blob(q.getColumn(0)) : std::string();
    });
}

FrameCursor TapeStore::frames_from_offset(std::int64_t session_id, std::int64_t offset_ns) {
    const std::int64_t first_seq = guarded(path_, [&] {
        // The first offset at or after `offset_ns` comes from the time index alone; min(seq) over
        // the whole range would read every row after it (a connection to a 10M-event tape would
        // wait seconds for its first frame).
        SQLite::Statement st(impl_->db,
                             "SELECT min(seq) FROM frames WHERE session_id = ?1 AND offset_ns = "
                             "(SELECT min(offset_ns) FROM frames WHERE session_id = ?1 AND "
                             "offset_ns >= ?2)");
        st.bind(1, session_id);
        st.bind(2, offset_ns);
        st.executeStep();
        return st.getColumn(0).isNull() ? std::numeric_limits<std::int64_t>::max()
                                        : st.getColumn(0).getInt64();
    });
    return frames_from_seq(session_id, first_seq);
}

std::vector<std::pair<std::int64_t, std::int64_t>> TapeStore::heartbeats(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<std::pair<std::int64_t, std::int64_t>> out;
        SQLite::Statement st(impl_->db,
                             "SELECT connection_idx, offset_ns FROM frames WHERE session_id = ? "
                             "AND (kind = 'ping' OR (kind = 'comment' AND "
                             "substr(CAST(bytes AS TEXT), 1, 2) != ':)')) ORDER BY seq");
        st.bind(1, session_id);
        while (st.executeStep()) {
            out.emplace_back(st.getColumn(0).getInt64(), st.getColumn(1).getInt64());
        }
        return out;
    });
}

std::int64_t TapeStore::events_before(std::int64_t session_id, std::int64_t offset_ns) {
    return guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "SELECT count(*) FROM frames WHERE session_id = ? AND kind = 'event' "
                             "AND offset_ns < ?");
        st.bind(1, session_id);
        st.bind(2, offset_ns);
        st.executeStep();
        return st.getColumn(0).getInt64();
    });
}

std::pair<std::int64_t, std::int64_t> TapeStore::peak_event_second(std::int64_t session_id) {
    return guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "SELECT offset_ns / 1000000000 AS second, count(*) AS n FROM frames "
                             "WHERE session_id = ? AND kind = 'event' GROUP BY second "
                             "ORDER BY n DESC, second LIMIT 1");
        st.bind(1, session_id);
        if (!st.executeStep()) {
            return std::pair<std::int64_t, std::int64_t>{0, 0};
        }
        return std::pair<std::int64_t, std::int64_t>{st.getColumn(0).getInt64(),
                                                     st.getColumn(1).getInt64()};
    });
}

bool TapeStore::streamed(std::int64_t session_id, const std::string& object_id) {
    return guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "SELECT 1 FROM frames WHERE object_id = ? AND session_id = ? AND "
                             "kind = 'event' AND event <> 'delete' LIMIT 1");
        st.bind(1, object_id);
        st.bind(2, session_id);
        return st.executeStep();
    });
}

std::vector<std::string> TapeStore::integrity_problems() {
    return guarded(path_, [&] {
        std::vector<std::string> out;
        SQLite::Statement st(impl_->db, "PRAGMA integrity_check");
        while (st.executeStep()) {
            const std::string line = st.getColumn(0).getString();
            if (line != "ok") {
                out.push_back(line);
            }
        }
        return out;
    });
}

}  // namespace mastotape::schema
