#pragma once

// An id-ordered walk over one stream's events or one endpoint's backfilled items, the REST
// timelines of a replay (TapeStore::items_by_id).

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace SQLite {
class Database;
}

namespace mastotape::schema {

class TapeStore;

// Which rows an id-ordered scan walks (TapeStore::items_by_id): the event frames named `key` on
// one stream label, or the successfully backfilled items of the endpoint `key`.
struct ItemScan {
    enum class Source { frames, backfill };
    Source source = Source::frames;
    std::string key;                    // frames: the event; backfill: the endpoint path
    std::optional<std::string> stream;  // frames: the stored label; nullopt: none (SSE)
    std::int64_t max_offset_ns = std::numeric_limits<std::int64_t>::max();  // frames only
    std::optional<std::string> after;   // exclusive lower id bound
    std::optional<std::string> before;  // exclusive upper id bound
    bool newest_first = true;
};

// One row of an id-ordered scan.
struct ItemRow {
    std::string object_id;
    std::int64_t offset_ns = 0;
    std::int64_t row = 0;      // frames: the frame's row id; backfill: the item's seq
    std::int64_t gap_idx = 0;  // backfill only
    std::string query;         // backfill only: the request's query string
};

// Walks an ItemScan in Mastodon's id order (shorter ids first, then text order), straight from
// an index: each step costs O(log n) plus the rows it skips for being later than the scan's
// offset bound. Same lifetime rules as FrameCursor.
class ItemCursor {
   public:
    ItemCursor(ItemCursor&&) noexcept;
    ItemCursor& operator=(ItemCursor&&) noexcept;
    ~ItemCursor();

    bool next(ItemRow& out);

   private:
    friend class TapeStore;
    struct Impl;
    // `db` must outlive the cursor.
    ItemCursor(SQLite::Database& db, const std::string& path, std::int64_t session_id,
               const ItemScan& scan);
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape::schema
