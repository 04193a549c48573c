#include "schema/tape_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "schema/migrations.hpp"
#include "schema/row_sql.hpp"
#include "schema/sqlite_util.hpp"
#include "schema/wal_checkpointer.hpp"

namespace mastotape::schema {
namespace {

namespace fs = std::filesystem;

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
        const auto prepare = [&](const std::string& sql) {
            return std::make_unique<SQLite::Statement>(db, sql);
        };
        insert_frame = prepare(insert_sql<Frame>(false));
        insert_client_message = prepare(insert_sql<ClientMessage>(false));
        upsert_connection = prepare(insert_sql<Connection>(true));
        upsert_gap = prepare(insert_sql<Gap>(true));
        insert_backfill = prepare(insert_sql<BackfillItem>(false));
        touch_session = prepare("UPDATE sessions SET updated_wall_ns = ? WHERE id = ?");
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
        read_row(*impl_->st, out, impl_->path);
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
        Session row = s;
        if (row.updated_wall_ns == 0) {
            row.updated_wall_ns = row.started_wall_ns;
        }
        SQLite::Statement st(impl_->db, insert_sql<Session>(false));
        bind_row(st, row);
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

namespace {

// Runs one prepared INSERT for each record. tryReset(): a statement that failed in an earlier
// batch still holds its error, which reset() would throw again.
template <typename Record>
void insert_all(SQLite::Statement& st, const std::vector<Record>& records) {
    for (const auto& r : records) {
        st.tryReset();
        bind_row(st, r);
        st.exec();
    }
}

}  // namespace

void TapeStore::append(const Batch& b) {
    if (!impl_->insert_frame) {
        throw TapeError(path_ + ": opened read-only");
    }
    in_transaction([&] {
        guarded(path_, [&] {
            insert_all(*impl_->upsert_connection, b.connections);
            insert_all(*impl_->insert_frame, b.frames);
            insert_all(*impl_->insert_client_message, b.client_messages);
            insert_all(*impl_->upsert_gap, b.gaps);
            insert_all(*impl_->insert_backfill, b.backfill);
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
        SQLite::Statement st(impl_->db,
                             "SELECT " + columns_of<Session>() + " FROM sessions ORDER BY id");
        while (st.executeStep()) {
            read_row(st, out.emplace_back(), path_);
        }
        return out;
    });
}

Session TapeStore::session(std::int64_t id) {
    return guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "SELECT " + columns_of<Session>() + " FROM sessions WHERE id = ?");
        st.bind(1, id);
        if (!st.executeStep()) {
            throw TapeError(path_ + ": no session " + std::to_string(id) +
                            " (list them with `mastotape sessions`)");
        }
        Session s;
        read_row(st, s, path_);
        return s;
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

// Every record of one kind in a session, in the order of `order_by`.
template <typename Record>
std::vector<Record> TapeStore::all_of(std::int64_t session_id, const char* order_by) {
    return guarded(path_, [&] {
        std::vector<Record> out;
        SQLite::Statement st(impl_->db, "SELECT " + columns_of<Record>() + " FROM " +
                                            std::string(table_of(static_cast<Record*>(nullptr))) +
                                            " WHERE session_id = ? ORDER BY " + order_by);
        st.bind(1, session_id);
        while (st.executeStep()) {
            read_row(st, out.emplace_back(), path_);
        }
        return out;
    });
}

std::vector<Connection> TapeStore::connections(std::int64_t session_id) {
    return all_of<Connection>(session_id, "idx");
}

std::vector<Gap> TapeStore::gaps(std::int64_t session_id) { return all_of<Gap>(session_id, "idx"); }

std::vector<ClientMessage> TapeStore::client_messages(std::int64_t session_id) {
    return all_of<ClientMessage>(session_id, "seq");
}

std::vector<BackfillItem> TapeStore::backfill(std::int64_t session_id) {
    return all_of<BackfillItem>(session_id, "seq");
}

FrameCursor TapeStore::frames_from_seq(std::int64_t session_id, std::int64_t from_seq) {
    return guarded(path_, [&] {
        auto impl = std::make_unique<FrameCursor::Impl>();
        impl->path = path_;
        impl->st = std::make_unique<SQLite::Statement>(
            impl_->db, "SELECT " + columns_of<Frame>() +
                           " FROM frames WHERE session_id = ? AND seq >= ? ORDER BY seq");
        impl->st->bind(1, session_id);
        impl->st->bind(2, from_seq);
        return FrameCursor(std::move(impl));
    });
}

ItemCursor TapeStore::items_by_id(std::int64_t session_id, const ItemScan& scan) {
    return ItemCursor(impl_->db, path_, session_id, scan);
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
        return q.executeStep() ? std::string(column_bytes(q.getColumn(0))) : std::string();
    });
}

std::string TapeStore::backfill_body(std::int64_t session_id, std::int64_t seq) {
    return guarded(path_, [&] {
        SQLite::Statement q(impl_->db,
                            "SELECT body FROM backfill_items WHERE session_id = ? AND seq = ?");
        q.bind(1, session_id);
        q.bind(2, seq);
        return q.executeStep() ? std::string(column_bytes(q.getColumn(0))) : std::string();
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
