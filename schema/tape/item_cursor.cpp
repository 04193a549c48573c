#include "schema/tape/item_cursor.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include "schema/tape/sqlite_util.hpp"

namespace mastotape::schema {

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
        if (!from && !down) {
            from = 0;  // rows without an id sort first, and would end the walk there
            cmp = " >= ?";
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

ItemCursor::ItemCursor(SQLite::Database& db, const std::string& path, std::int64_t session_id,
                       const ItemScan& scan)
    : impl_(std::make_unique<Impl>()) {
    impl_->db = &db;
    impl_->path = path;
    impl_->session_id = session_id;
    impl_->scan = scan;
}
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

}  // namespace mastotape::schema
