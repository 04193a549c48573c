#pragma once

// The inside of TapeStore and FrameCursor, shared by tape_store.cpp (opening, migrating, writing)
// and tape_reads.cpp (reading). Private to schema/.

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "schema/tape/packed_blobs.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/tape/wal_checkpointer.hpp"

namespace mastotape::schema {

// How many prepared frame reads a store keeps for its next cursors.
constexpr std::size_t kSpareFrameReads = 16;

struct TapeStore::Impl {
    explicit Impl(const std::string& path, int flags)
        : db(path, flags), packer(db), unpacker(db, path) {
        spare_frame_reads.reserve(kSpareFrameReads);  // a cursor's end gives back without throwing
    }

    SQLite::Database db;
    // The file `db` opened (st_dev, st_ino), to tell when the path names another file.
    std::pair<std::uint64_t, std::uint64_t> file_id{0, 0};
    BlobPacker packer;
    BlobUnpacker unpacker;
    std::unique_ptr<SQLite::Statement> insert_frame;
    std::unique_ptr<SQLite::Statement> insert_client_message;
    std::unique_ptr<SQLite::Statement> upsert_connection;
    std::unique_ptr<SQLite::Statement> upsert_gap;
    std::unique_ptr<SQLite::Statement> insert_backfill;
    std::unique_ptr<SQLite::Statement> touch_session;
    // Frame reads, prepared once and reset for the next cursor: a replayer opens one for each
    // connection, and preparing cost more than reading its first frames (10,000 connections
    // opened and closed at once kept the replayer's thread busy compiling SQL).
    std::vector<std::unique_ptr<SQLite::Statement>> spare_frame_reads;
    std::unique_ptr<SQLite::Statement> first_seq_at;
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

    // The prepared INSERT (or upsert) of a record's kind.
    SQLite::Statement& insert_of(const Connection&) { return *upsert_connection; }
    SQLite::Statement& insert_of(const Gap&) { return *upsert_gap; }
    SQLite::Statement& insert_of(const ClientMessage&) { return *insert_client_message; }
    SQLite::Statement& insert_of(const Frame&) { return *insert_frame; }
    SQLite::Statement& insert_of(const BackfillItem&) { return *insert_backfill; }

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
    // Gives the statement back to the store's spares, reset (a few: as many as are open at once
    // come back only to be dropped).
    ~Impl() {
        if (st && spares != nullptr && spares->size() < kSpareFrameReads &&
            st->tryReset() == SQLITE_OK) {
            spares->push_back(std::move(st));
        }
    }

    std::string path;
    BlobUnpacker* unpacker = nullptr;
    std::unique_ptr<SQLite::Statement> st;
    std::vector<std::unique_ptr<SQLite::Statement>>* spares = nullptr;
};

}  // namespace mastotape::schema
