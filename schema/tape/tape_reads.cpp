// TapeStore's reads: sessions and their records, frame and item cursors, and the queries the
// replayer, stats and verify make. Opening and writing are in tape_store.cpp.

#include <limits>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/tape/row_sql.hpp"
#include "schema/tape/sqlite_util.hpp"
#include "schema/tape/tape_store_impl.hpp"
#include "schema/tape/zstd_codec.hpp"

namespace mastotape::schema {

FrameCursor::FrameCursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FrameCursor::FrameCursor(FrameCursor&&) noexcept = default;
FrameCursor& FrameCursor::operator=(FrameCursor&&) noexcept = default;
FrameCursor::~FrameCursor() = default;

bool FrameCursor::next(Frame& out) {
    try {
        if (!impl_->st->executeStep()) {
            return false;
        }
        read_row(*impl_->st, out, impl_->path, impl_->unpacker);
        return true;
    } catch (const SQLite::Exception& e) {
        throw TapeError(impl_->path + ": " + describe(e));
    }
}

std::vector<Session> TapeStore::sessions() {
    return guarded(path_, [&] {
        std::vector<Session> out;
        SQLite::Statement st(impl_->db,
                             "SELECT " + columns_of<Session>() + " FROM sessions ORDER BY id");
        while (st.executeStep()) {
            read_row(st, out.emplace_back(), path_, &impl_->unpacker);
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
        // From the kinds' counts (the index), less the greetings (a few comment rows read).
        c.heartbeats =
            (c.by_kind.count("ping") ? c.by_kind["ping"] : 0) +
            (c.by_kind.count("comment") ? c.by_kind["comment"] : 0) -
            scalar((std::string("SELECT count(*) FROM frames WHERE session_id = ? AND ") +
                    kIsSseGreetingSql)
                       .c_str());
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
            read_row(st, out.emplace_back(), path_, &impl_->unpacker);
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
        impl->unpacker = &impl_->unpacker;
        impl->spares = &impl_->spare_frame_reads;
        if (impl_->spare_frame_reads.empty()) {
            impl->st = std::make_unique<SQLite::Statement>(
                impl_->db, "SELECT " + columns_of<Frame>() +
                               " FROM frames WHERE session_id = ? AND seq >= ? ORDER BY seq");
        } else {
            impl->st = std::move(impl_->spare_frame_reads.back());
            impl_->spare_frame_reads.pop_back();
        }
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

std::vector<std::string> TapeStore::event_names(std::int64_t session_id) {
    return guarded(path_, [&] {
        // A skip scan, as below.
        std::vector<std::string> out;
        for (;;) {
            SQLite::Statement q(impl_->db,
                                "SELECT event FROM frames INDEXED BY frames_by_event WHERE "
                                "session_id = ? AND event > ? ORDER BY event LIMIT 1");
            q.bind(1, session_id);
            q.bind(2, out.empty() ? std::string() : out.back());
            if (!q.executeStep()) {
                return out;
            }
            out.push_back(q.getColumn(0).getString());
        }
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

std::optional<std::int64_t> TapeStore::frame_row(std::int64_t session_id, std::int64_t seq) {
    return guarded(path_, [&]() -> std::optional<std::int64_t> {
        SQLite::Statement q(impl_->db, "SELECT id FROM frames WHERE session_id = ? AND seq = ?");
        q.bind(1, session_id);
        q.bind(2, seq);
        return q.executeStep() ? std::optional<std::int64_t>(q.getColumn(0).getInt64())
                               : std::nullopt;
    });
}

std::vector<std::int64_t> TapeStore::event_rows(std::int64_t session_id, const std::string& event,
                                                const std::string& object_id) {
    return guarded(path_, [&] {
        std::vector<std::int64_t> out;
        SQLite::Statement q(impl_->db,
                            "SELECT id FROM frames INDEXED BY frames_by_object WHERE object_id = "
                            "? AND session_id = ? AND event = ?");
        q.bind(1, object_id);
        q.bind(2, session_id);
        q.bind(3, event);
        while (q.executeStep()) {
            out.push_back(q.getColumn(0).getInt64());
        }
        return out;
    });
}

FrameStorage TapeStore::frame_storage(std::int64_t session_id) {
    return guarded(path_, [&] {
        FrameStorage out;
        // length() of a blob reads the row's header, not its bytes.
        SQLite::Statement q(impl_->db,
                            "SELECT coalesce(sum(coalesce(length, length(bytes))), 0), "
                            "coalesce(sum(length(bytes)), 0), count(*) FILTER (WHERE codec != 0) "
                            "FROM frames WHERE session_id = ?");
        q.bind(1, session_id);
        q.executeStep();
        out.raw_bytes = q.getColumn(0).getInt64();
        out.stored_bytes = q.getColumn(1).getInt64();
        out.compressed = q.getColumn(2).getInt64();
        SQLite::Statement d(impl_->db,
                            "SELECT trained_on FROM dictionaries WHERE session_id = ? ORDER BY id "
                            "DESC LIMIT 1");
        d.bind(1, session_id);
        if (d.executeStep()) {
            out.dictionary_trained_on = d.getColumn(0).getInt64();
        }
        return out;
    });
}

std::string TapeStore::frame_bytes(std::int64_t row) {
    return guarded(path_, [&] {
        SQLite::Statement q(impl_->db, "SELECT bytes, " + std::string(kPackedColumns) +
                                           " FROM frames WHERE id = ?");
        q.bind(1, row);
        std::string out;
        if (q.executeStep() && !impl_->unpacker.unpack(q, 0, out)) {
            throw DamagedBytes(path_, "frame row " + std::to_string(row));
        }
        return out;
    });
}

std::string TapeStore::backfill_body(std::int64_t session_id, std::int64_t seq) {
    return guarded(path_, [&] {
        SQLite::Statement q(impl_->db, "SELECT body, " + std::string(kPackedColumns) +
                                           " FROM backfill_items WHERE session_id = ? AND seq = ?");
        q.bind(1, session_id);
        q.bind(2, seq);
        std::string out;
        if (q.executeStep() && !impl_->unpacker.unpack(q, 0, out)) {
            throw DamagedBytes(path_, "backfilled item " + std::to_string(seq) + " of session " +
                                          std::to_string(session_id));
        }
        return out;
    });
}

std::optional<std::int64_t> TapeStore::first_seq_at(std::int64_t session_id,
                                                    std::int64_t offset_ns) {
    return guarded(path_, [&]() -> std::optional<std::int64_t> {
        // The first offset at or after `offset_ns` comes from the time index alone; min(seq) over
        // the whole range would read every row after it (a connection to a 10M-event tape would
        // wait seconds for its first frame). The outer query is pinned to the time index too:
        // left to itself SQLite walks frames_by_seq for min(seq), every row of the session
        // (0.1 s a call on a 10^6-event tape).
        if (!impl_->first_seq_at) {
            impl_->first_seq_at = std::make_unique<SQLite::Statement>(
                impl_->db,
                "SELECT min(seq) FROM frames INDEXED BY frames_by_time WHERE session_id = ?1 AND "
                "offset_ns = (SELECT min(offset_ns) FROM frames WHERE session_id = ?1 AND "
                "offset_ns >= ?2)");
        }
        SQLite::Statement& st = *impl_->first_seq_at;
        st.tryReset();  // after a failed step, reset returns that step's error
        st.bind(1, session_id);
        st.bind(2, offset_ns);
        st.executeStep();
        std::optional<std::int64_t> first;
        if (!st.getColumn(0).isNull()) {
            first = st.getColumn(0).getInt64();
        }
        st.tryReset();  // no read transaction left open behind it
        return first;
    });
}

FrameCursor TapeStore::frames_from_offset(std::int64_t session_id, std::int64_t offset_ns) {
    return frames_from_seq(
        session_id,
        first_seq_at(session_id, offset_ns).value_or(std::numeric_limits<std::int64_t>::max()));
}

std::vector<std::pair<std::int64_t, std::int64_t>> TapeStore::heartbeats(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<std::pair<std::int64_t, std::int64_t>> out;
        SQLite::Statement st(
            impl_->db, std::string("SELECT connection_idx, offset_ns FROM frames WHERE "
                                   "session_id = ? AND kind IN ('ping', 'comment') AND NOT ") +
                           kIsSseGreetingSql + " ORDER BY seq");
        st.bind(1, session_id);
        while (st.executeStep()) {
            out.emplace_back(st.getColumn(0).getInt64(), st.getColumn(1).getInt64());
        }
        return out;
    });
}

std::optional<std::int64_t> TapeStore::last_ping_between(std::int64_t session_id,
                                                         std::int64_t from_ns,
                                                         std::int64_t until_ns) {
    return guarded(path_, [&]() -> std::optional<std::int64_t> {
        SQLite::Statement st(impl_->db,
                             "SELECT max(offset_ns) FROM frames WHERE session_id = ? AND "
                             "kind = 'ping' AND offset_ns >= ? AND offset_ns <= ?");
        st.bind(1, session_id);
        st.bind(2, from_ns);
        st.bind(3, until_ns);
        st.executeStep();
        if (st.getColumn(0).isNull()) {
            return std::nullopt;
        }
        return st.getColumn(0).getInt64();
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

std::vector<EventBin> TapeStore::event_bins(std::int64_t session_id, std::int64_t bin_ns) {
    return guarded(path_, [&] {
        std::vector<EventBin> out;
        SQLite::Statement st(
            impl_->db,
            "SELECT offset_ns / ? AS bin, coalesce(event, ''), count(*) FROM frames "
            "INDEXED BY frames_by_kind WHERE session_id = ? AND kind = 'event' "
            "GROUP BY bin, 2 ORDER BY bin, 2");
        st.bind(1, bin_ns);
        st.bind(2, session_id);
        while (st.executeStep()) {
            out.push_back({st.getColumn(0).getInt64(), st.getColumn(1).getString(),
                           st.getColumn(2).getInt64()});
        }
        return out;
    });
}

std::vector<BackfillItem> TapeStore::backfill_index(std::int64_t session_id) {
    return guarded(path_, [&] {
        std::vector<BackfillItem> out;
        SQLite::Statement st(impl_->db,
                             "SELECT seq, gap_idx, offset_ns, wall_ns, endpoint, query, "
                             "http_status, object_id, already_streamed FROM backfill_items WHERE "
                             "session_id = ? ORDER BY seq");
        st.bind(1, session_id);
        while (st.executeStep()) {
            BackfillItem& b = out.emplace_back();
            b.session_id = session_id;
            b.seq = st.getColumn(0).getInt64();
            b.gap_idx = st.getColumn(1).getInt64();
            b.offset_ns = st.getColumn(2).getInt64();
            b.wall_ns = st.getColumn(3).getInt64();
            b.endpoint = st.getColumn(4).getString();
            b.query = st.getColumn(5).getString();
            b.http_status = st.getColumn(6).getInt64();
            b.object_id = st.getColumn(7).getString();
            b.already_streamed = st.getColumn(8).getInt64() != 0;
        }
        return out;
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

std::vector<std::string> TapeStore::dictionary_problems() {
    return guarded(path_, [&] {
        std::vector<std::string> out;
        SQLite::Statement st(impl_->db,
                             "SELECT id, session_id, bytes FROM dictionaries WHERE codec = 'zstd'");
        ZstdDecompressor zstd;
        while (st.executeStep()) {
            const std::int64_t id = st.getColumn(0).getInt64();
            const std::string_view bytes = column_bytes(st.getColumn(2));
            if (!zstd.load(id, bytes)) {
                const std::string whose =
                    st.getColumn(1).isNull()
                        ? "the built-in one"
                        : "session " + std::to_string(st.getColumn(1).getInt64()) + "'s";
                out.push_back("dictionary " + std::to_string(id) + " (" + whose + ", " +
                              std::to_string(bytes.size()) +
                              " bytes) is damaged: zstd cannot load it, so no frame compressed "
                              "with it can be read");
            }
        }
        return out;
    });
}

}  // namespace mastotape::schema
