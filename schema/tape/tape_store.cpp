#include "schema/tape/tape_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "schema/tape/migrations.hpp"
#include "schema/tape/recorder_lock.hpp"
#include "schema/tape/row_sql.hpp"
#include "schema/tape/sqlite_util.hpp"
#include "schema/tape/tape_store_impl.hpp"
#include "schema/tape/wal_checkpointer.hpp"

namespace mastotape::schema {
namespace {

// The file at `path` as (st_dev, st_ino); nullopt when there is none.
std::optional<std::pair<std::uint64_t, std::uint64_t>> file_id_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return std::pair<std::uint64_t, std::uint64_t>{st.st_dev, st.st_ino};
}

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
        if (!fs::is_regular_file(path, ec)) {  // a device or a FIFO: SQLite would write beside it
            throw TapeError(path + ": not a regular file, so not a tape (name a .db file)");
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

std::string TapeStore::sqlite_name(bool exists, bool writable) {
    std::error_code ec;
    const fs::path dir = fs::absolute(path_, ec).parent_path();
    const bool dir_writable = ::access(dir.c_str(), W_OK) == 0;  // false on a read-only mount
    if (!exists || writable || dir_writable || fs::exists(path_ + "-wal", ec)) {
        return path_;
    }
    immutable_ = true;
    std::string uri = "file:";
    for (const char c : fs::absolute(path_, ec).string()) {
        const bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' ||
                           c == '.' || c == '_' || c == '~';
        if (plain) {
            uri += c;
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
            uri += hex;
        }
    }
    return uri + "?immutable=1";
}

void TapeStore::open(bool exists, bool writable, OpenMode mode) {
    {
        int flags = writable ? SQLite::OPEN_READWRITE : SQLite::OPEN_READONLY;
        if (!exists) {
            flags |= SQLite::OPEN_CREATE;
        }
        const std::string name = sqlite_name(exists, writable);
        // Only our own URI is read as one: a tape may be called "file:x.db".
        impl_ = std::make_unique<Impl>(name, immutable_ ? flags | SQLITE_OPEN_URI : flags);
        impl_->file_id = file_id_of(path_).value_or(std::pair<std::uint64_t, std::uint64_t>{});
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
        if (version < 0) {
            throw TapeError(path_ + ": not a mastotape tape (its format version is " +
                            std::to_string(version) + ")");
        }
        if (version > current_schema_version()) {
            throw TapeError(path_ + ": tape format version " + std::to_string(version) +
                            " is newer than this mastotape understands (" +
                            std::to_string(current_schema_version()) + "); upgrade mastotape");
        }
        if (version < current_schema_version() && mode == OpenMode::read) {
            open_migrated_copy(version);
        } else if (version < current_schema_version()) {
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

TapeStore::~TapeStore() {
    impl_.reset();
    if (!copy_dir_.empty()) {
        std::error_code ec;
        fs::remove_all(copy_dir_, ec);
    }
}

void TapeStore::open_migrated_copy(int version) {
    std::string dir = (fs::temp_directory_path() / "mastotape-read-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
        throw TapeError(path_ + ": tape format version " + std::to_string(version) +
                        " is read through a migrated copy, but no temporary folder could be "
                        "made (set TMPDIR)");
    }
    copy_dir_ = dir;
    const std::string copy = dir + "/tape.db";
    {
        SQLite::Statement st(impl_->db, "VACUUM INTO ?");  // a read-only connection can
        st.bind(1, copy);
        st.exec();
    }
    impl_ = std::make_unique<Impl>(copy, SQLite::OPEN_READWRITE);
    impl_->file_id = file_id_of(path_).value_or(std::pair<std::uint64_t, std::uint64_t>{});
    SQLite::Transaction tx(impl_->db);
    for (int v = version; v < current_schema_version(); ++v) {
        impl_->db.exec(std::string(migrations()[static_cast<std::size_t>(v)]));
    }
    impl_->db.exec("PRAGMA user_version = " + std::to_string(current_schema_version()));
    tx.commit();
}

std::string TapeStore::path_problem() const {
    const auto now = file_id_of(path_);
    if (!now) {
        // Only a path that names nothing is a deleted tape; a stat that fails otherwise (a
        // directory's permissions changed) tells nothing.
        return errno == ENOENT || errno == ENOTDIR ? "deleted" : "";
    }
    return *now == impl_->file_id ? "" : "replaced by another file";
}

void TapeStore::leave_path() {
    guarded(path_, [&] {
        // Leaving WAL mode wants this connection alone: the checkpointer's goes first.
        sqlite3_wal_hook(impl_->db.getHandle(), nullptr, nullptr);
        impl_->checkpointer.reset();
        // SQLite checkpoints, then removes the WAL and shared-memory files by name: ours, as
        // long as nobody opened the new file in between (who would have taken our WAL for its).
        impl_->db.exec("PRAGMA journal_mode = MEMORY");
    });
}

void TapeStore::save_copy(const std::string& to) {
    guarded(path_, [&] {
        SQLite::Statement st(impl_->db, "VACUUM INTO ?");
        st.bind(1, to);
        st.exec();
    });
}

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
        impl_->packer.forget();
        try {
            impl_->db.exec("ROLLBACK");
        } catch (const SQLite::Exception&) {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); nothing is left open.
        }
    }
}

std::int64_t TapeStore::create_session(const Session& s, std::unique_ptr<RecorderLock>* lock,
                                       std::optional<bool>* lock_seen) {
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
        if (lock == nullptr) {
            st.exec();
            return impl_->db.getLastInsertRowid();
        }
        SQLite::Transaction tx(impl_->db);
        st.exec();
        const std::int64_t id = impl_->db.getLastInsertRowid();
        *lock = std::make_unique<RecorderLock>(path_, id);
        std::optional<bool> probed;
        std::optional<bool>& seen = lock_seen != nullptr ? *lock_seen : probed;
        if (!seen) {
            seen = recorder_alive(path_, id) == true;
        }
        if (*seen) {
            // Readers may trust the lock for this session: it is seen where it is held.
            SQLite::Statement mark(impl_->db,
                                   std::string("UPDATE sessions SET settings = json_set("
                                               "settings, '$.") +
                                       std::string(kRecorderLockSetting) +
                                       "', 'ofd') WHERE id = ? AND json_valid(settings)");
            mark.bind(1, id);
            mark.exec();
        }
        tx.commit();
        return id;
    });
}

void TapeStore::restore_session(const Session& s) {
    if (!impl_->insert_frame) {
        throw TapeError(path_ + ": opened read-only");
    }
    in_transaction([&] {
        guarded(path_, [&] {
            SQLite::Statement st(impl_->db, insert_sql<Session>(false));
            bind_row(st, s);
            st.exec();
            const std::int64_t id = impl_->db.getLastInsertRowid();
            if (id != s.id) {
                SQLite::Statement renumber(impl_->db, "UPDATE sessions SET id = ? WHERE id = ?");
                renumber.bind(1, s.id);
                renumber.bind(2, id);
                renumber.exec();
            }
        });
    });
}

void TapeStore::end_session(std::int64_t id, std::int64_t ended_wall_ns,
                            std::int64_t ended_offset_ns, SessionEnd reason,
                            const std::string& detail) {
    guarded(path_, [&] {
        SQLite::Statement st(impl_->db,
                             "UPDATE sessions SET ended_wall_ns = ?, ended_offset_ns = ?, "
                             "end_reason = ?, end_detail = ?, updated_wall_ns = ? WHERE id = ?");
        st.bind(1, ended_wall_ns);
        st.bind(2, ended_offset_ns);
        st.bind(3, std::string(to_string(reason)));
        st.bind(4, detail);
        st.bind(5, ended_wall_ns);
        st.bind(6, id);
        st.exec();
    });
}

void TapeStore::set_setting(std::int64_t id, std::string_view key, const std::string& json) {
    guarded(path_, [&] {
        const char* valid = "CASE WHEN json_valid(settings) THEN settings ELSE '{}' END";
        SQLite::Statement st(
            impl_->db, json.empty() ? std::string("UPDATE sessions SET settings = json_remove(") +
                                          valid + ", ?1) WHERE id = ?3"
                                    : std::string("UPDATE sessions SET settings = json_set(") +
                                          valid + ", ?1, json(?2)) WHERE id = ?3");
        st.bind(1, "$." + std::string(key));
        if (!json.empty()) {
            st.bind(2, json);
        }
        st.bind(3, id);
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

void TapeStore::set_compression(Compression c) { impl_->packer.set_compression(c); }

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
        st.bind(3, std::string(to_string(s.end_reason)));
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
            impl_->packer.begin_batch(b);
            for (const Record& record : b.records) {
                std::visit(
                    [&](const auto& r) {
                        // tryReset(): a statement that failed in an earlier batch still holds
                        // its error, which reset() would throw again.
                        SQLite::Statement& st = impl_->insert_of(r);
                        st.tryReset();
                        bind_row(st, r, &impl_->packer);
                        st.exec();
                    },
                    record);
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

}  // namespace mastotape::schema
