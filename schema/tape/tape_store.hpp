#pragma once

// The tape: one SQLite file holding many sessions. TapeStore owns the connection and every
// prepared statement; all reads and writes go through it. Not thread-safe: use one TapeStore per
// thread (SQLite WAL lets a recorder write while other processes read).
//
// Errors: every problem with the file (missing, not SQLite, not a tape, newer version, corrupt,
// read-only location, disk full) is thrown as TapeError, whose message is one line naming the file.
// A file that fails to open is left byte-for-byte unchanged.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "schema/tape/item_cursor.hpp"
#include "schema/tape/model.hpp"
#include "schema/tape/zstd_codec.hpp"

namespace mastotape::schema {

class RecorderLock;

class TapeError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

// What a corrupt tape's error ends with (`verify` itself says something else).
inline constexpr std::string_view kCorruptAdvice = "; try `mastotape verify`";

// A frame's bytes or a backfilled body that do not decompress to their stored length and
// checksum: that record is damaged (the rest of the tape may be sound).
class DamagedBytes : public TapeError {
   public:
    // `record`: "frame 12 of session 3".
    DamagedBytes(const std::string& path, std::string record)
        : TapeError(path + ": " + record + " " + std::string(kDamaged) +
                    std::string(kCorruptAdvice)),
          record_(std::move(record)) {}
    const std::string& record() const { return record_; }

    static constexpr std::string_view kDamaged =
        "is damaged: its bytes do not decompress to their stored length and checksum";

   private:
    std::string record_;
};

enum class OpenMode {
    read,    // the tape must exist; opened read-only unless it needs a migration
    write,   // the tape must exist
    create,  // created when missing
};

// Everything appended in one transaction, in order: all of it lands or none of it does.
// Connections and gaps are upserted by (session, idx), so a writer re-sends a row when it changes.
struct Batch {
    std::int64_t session_id = 0;
    std::int64_t now_wall_ns = 0;  // stored as the session's `updated_wall_ns` when non-zero
    std::vector<Record> records;

    bool empty() const { return records.empty(); }
    std::size_t size() const { return records.size(); }
};

// Per-session counts, computed from the indexes.
struct SessionCounts {
    std::int64_t frames = 0;
    std::int64_t events = 0;
    std::int64_t heartbeats = 0;  // pings and SSE comments but the opening `:)` (is_heartbeat)
    std::int64_t connections = 0;
    std::int64_t gaps = 0;
    std::int64_t backfilled = 0;
    std::int64_t client_messages = 0;
    std::int64_t last_seq = 0;
    std::int64_t last_offset_ns = 0;
    std::map<std::string, std::int64_t> by_kind;
    std::map<std::string, std::int64_t> by_event;
};

// Event frames in one time bin with one event name (TapeStore::event_bins).
struct EventBin {
    std::int64_t bin = 0;  // offset_ns / bin_ns
    std::string event;
    std::int64_t count = 0;
};

// How a session's frame bytes are stored.
struct FrameStorage {
    std::int64_t raw_bytes = 0;     // as received
    std::int64_t stored_bytes = 0;  // as kept in the tape
    std::int64_t compressed = 0;    // frames stored compressed
    // Frames the session's own dictionary was trained on; 0: it has none (the built-in one).
    std::int64_t dictionary_trained_on = 0;
};

class TapeStore;

// Walks a session's frames in seq order without holding more than one frame. The store must
// outlive the cursor, and no other write may happen on the same TapeStore while it is open.
class FrameCursor {
   public:
    FrameCursor(FrameCursor&&) noexcept;
    FrameCursor& operator=(FrameCursor&&) noexcept;
    ~FrameCursor();

    // Reads the next frame into `out`; false at the end.
    bool next(Frame& out);

   private:
    friend class TapeStore;
    struct Impl;
    explicit FrameCursor(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// When a commit hands the WAL to the background checkpointer (TapeStore::checkpoint_in_background).
struct CheckpointPages {
    // Pages in the WAL from which each commit asks for a round (SQLite's own automatic threshold).
    int ask = 1000;
    // 64 MB of 16 KB pages. A writer committing flat out leaves no moment in which a round has
    // copied everything, so the WAL never starts over and grows; from here on the commit waits
    // for one round, once per this many pages, after which the next transaction starts it over.
    int force = 4096;
};

class TapeStore {
   public:
    TapeStore(const std::string& path, OpenMode mode);
    ~TapeStore();
    TapeStore(const TapeStore&) = delete;
    TapeStore& operator=(const TapeStore&) = delete;

    const std::string& path() const { return path_; }
    // Opened as an immutable file: the tape is on a read-only location (a read-only mount, a
    // directory nobody may write) with no WAL beside it, so no writer can exist and SQLite need
    // not make its shared-memory file. Readers say so.
    bool immutable() const { return immutable_; }
    std::int32_t schema_version() const;

    // Creates a session and returns its id. `s.id` is ignored. With `lock`, the session's
    // RecorderLock is taken into it before the row is visible to any reader (a recorder's), and
    // whether readers can see the lock is probed (/proc/locks), unless `lock_seen` already says
    // (what an earlier probe on the same filesystem found: a rotation's next file); the answer is
    // left there.
    std::int64_t create_session(const Session& s, std::unique_ptr<RecorderLock>* lock = nullptr,
                                std::optional<bool>* lock_seen = nullptr);
    // Inserts `s` as it is, with its own id (compact: ids stay what they were); throws TapeError
    // when the tape has a session with that id.
    void restore_session(const Session& s);
    // Marks a session ended. `ended_offset_ns` is the session's length.
    void end_session(std::int64_t id, std::int64_t ended_wall_ns, std::int64_t ended_offset_ns,
                     SessionEnd reason, const std::string& detail);
    // Sets one member of a session's settings (SessionSettings) to `json` (a JSON text), keeping
    // the others; an empty `json` removes the member.
    void set_setting(std::int64_t id, std::string_view key, const std::string& json);
    // Writes `b` in one transaction.
    void append(const Batch& b);
    // Runs `f` inside one transaction (for imports and repairs that span several calls).
    template <typename F>
    void in_transaction(F&& f) {
        begin();
        try {
            f();
        } catch (...) {
            rollback();
            throw;
        }
        commit();
    }

    std::vector<Session> sessions();
    // Throws TapeError naming the file when there is no such session.
    Session session(std::int64_t id);
    // The newest session's id; throws when the tape has none.
    std::int64_t newest_session_id();
    SessionCounts counts(std::int64_t session_id);

    std::vector<Connection> connections(std::int64_t session_id);
    std::vector<Gap> gaps(std::int64_t session_id);
    std::vector<ClientMessage> client_messages(std::int64_t session_id);
    std::vector<BackfillItem> backfill(std::int64_t session_id);

    // Frames from `from_seq` on (1 is the first).
    FrameCursor frames_from_seq(std::int64_t session_id, std::int64_t from_seq);
    // The seq of the first frame at or after `offset_ns`; none when the session has none there.
    std::optional<std::int64_t> first_seq_at(std::int64_t session_id, std::int64_t offset_ns);
    // Frames from the first one at or after `offset_ns`.
    FrameCursor frames_from_offset(std::int64_t session_id, std::int64_t offset_ns);
    // For each gap with backfilled items, the offset its last item was fetched at.
    std::map<std::int64_t, std::int64_t> backfill_fetch_ends(std::int64_t session_id);
    // An id-ordered walk over one stream's events or one endpoint's backfilled items (the REST
    // timelines of a replay).
    ItemCursor items_by_id(std::int64_t session_id, const ItemScan& scan);
    // The distinct event names the session's frames carry.
    std::vector<std::string> event_names(std::int64_t session_id);
    // The distinct stream labels event frames named `event` carry (nullopt: frames without one).
    std::vector<std::optional<std::string>> event_streams(std::int64_t session_id,
                                                          const std::string& event);
    // The newest frame of `event` on `stream` about `object_id` with an offset in
    // (after_ns, until_ns], as (row id, offset).
    std::optional<std::pair<std::int64_t, std::int64_t>> latest_event(
        std::int64_t session_id, const std::string& event, const std::optional<std::string>& stream,
        const std::string& object_id, std::int64_t after_ns, std::int64_t until_ns);
    // The row id of frame `seq`, and those of the `event` frames about `object_id`.
    std::optional<std::int64_t> frame_row(std::int64_t session_id, std::int64_t seq);
    std::vector<std::int64_t> event_rows(std::int64_t session_id, const std::string& event,
                                         const std::string& object_id);
    // The bytes of the frame with row id `row`, and the body of backfilled item `seq`.
    std::string frame_bytes(std::int64_t row);
    std::string backfill_body(std::int64_t session_id, std::int64_t seq);
    // The offset of the last ping in [from_ns, until_ns], if any (whether a recorded server was
    // still alive when a replayed connection resumes).
    std::optional<std::int64_t> last_ping_between(std::int64_t session_id, std::int64_t from_ns,
                                                  std::int64_t until_ns);
    // Number of event frames before `offset_ns` (event numbering for replay faults).
    std::int64_t events_before(std::int64_t session_id, std::int64_t offset_ns);
    // Heartbeats (pings, and SSE comments other than the opening `:)`) as
    // (connection idx, offset), in order.
    std::vector<std::pair<std::int64_t, std::int64_t>> heartbeats(std::int64_t session_id);
    // The raw and stored size of a session's frames (a scan of its rows' headers).
    FrameStorage frame_storage(std::int64_t session_id);
    // The busiest second of events: (second since start, events in it); (0, 0) when none.
    std::pair<std::int64_t, std::int64_t> peak_event_second(std::int64_t session_id);
    // Event frames counted per bin of `bin_ns` from the session start and per event name ("" for
    // frames without one), in bin order: what `plot` draws of any length of session.
    std::vector<EventBin> event_bins(std::int64_t session_id, std::int64_t bin_ns);
    // The session's backfilled items without their bodies (`body` left empty), in seq order.
    std::vector<BackfillItem> backfill_index(std::int64_t session_id);

    // True when an event other than a delete carried `object_id` on the stream.
    bool streamed(std::int64_t session_id, const std::string& object_id);

    // Runs `PRAGMA integrity_check`; returns its complaints (empty when the file is sound).
    std::vector<std::string> integrity_problems();
    // The compression dictionaries zstd cannot load (damaged), one line each.
    std::vector<std::string> dictionary_problems();
    // Checkpoints the WAL on a thread of its own from now on (schema/tape/wal_checkpointer.hpp), so
    // that commits do not wait for the disk's syncs: for a writer that commits for a long time.
    void checkpoint_in_background(CheckpointPages pages = {});
    // Checkpoint rounds the background thread has finished.
    std::int64_t background_checkpoints() const;
    // How frames' bytes and backfilled bodies written from now on are stored (default: zstd at
    // level 3, with the session's own dictionary once its first frames have trained one).
    void set_compression(Compression c);
    // Makes every commit durable before it returns (`--sync full`).
    void set_synchronous_full();
    // What became of the file this store opened, as its path sees it now: empty while the path
    // still names it, "deleted" or "replaced by another file" when not (a writer goes on writing
    // into a file no name reaches, which goes with its last descriptor).
    std::string path_problem() const;
    // For a writer whose path_problem() is not empty: stops using the files named after the path
    // (its WAL and shared memory, which SQLite would apply to whatever file the path names now):
    // the WAL goes into the tape, and commits from now on write the file with the rollback
    // journal in memory (the file is lost with the process anyway).
    void leave_path();
    // Writes the tape as this store sees it (what its WAL holds included) to `to`, a new file:
    // how a writer whose path_problem() is not empty keeps what it wrote.
    void save_copy(const std::string& to);
    // Overwrites a session's end (repair of an interrupted session).
    void set_session_end(const Session& s);

   private:
    friend class NewTape;
    struct Impl;
    template <typename Record>
    std::vector<Record> all_of(std::int64_t session_id, const char* order_by);
    void open(bool exists, bool writable, OpenMode mode);
    // The name SQLite opens: the path, or a file: URI with immutable=1 (sets immutable_).
    std::string sqlite_name(bool exists, bool writable);
    // On: no journal and no syncs (a new file nobody else has open); off: the WAL again.
    void set_bulk_load(bool on);
    void begin();
    void commit();
    void rollback();

    // A reader of an older tape reads a migrated copy, so that reading never changes the file.
    void open_migrated_copy(int version);

    std::string path_;
    bool immutable_ = false;
    std::string copy_dir_;  // the migrated copy's private folder, removed with the store
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape::schema
