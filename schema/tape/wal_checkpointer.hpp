#pragma once

// Checkpoints a tape's write-ahead log on a thread of its own, with a connection of its own.
//
// SQLite's automatic checkpoint runs inside the commit that grows the WAL past 1,000 pages: that
// commit then copies the WAL into the file and syncs both, tens of milliseconds on a real disk,
// while the recorder's frames pile up behind it (a quarter of the writer thread's time at full
// speed). Here the commit only asks; the copy and the syncs happen beside the next batches. The
// durability is SQLite's own: the checkpointing connection syncs as `synchronous = NORMAL` does.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace SQLite {
class Database;
}

namespace mastotape::schema {

class WalCheckpointer {
   public:
    // Opens `path` (an existing tape in WAL mode) again; throws SQLite::Exception when it cannot.
    explicit WalCheckpointer(const std::string& path);
    ~WalCheckpointer();  // waits for a round in progress
    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    // Asks for a round (a passive checkpoint of everything committed); returns at once.
    void request();
    // Runs a round that starts after this call and returns when it is done: what was committed
    // before the call is then in the file, and the next write transaction can start the WAL over.
    void run_and_wait();
    std::int64_t rounds_done() const;

   private:
    void run();

    std::unique_ptr<SQLite::Database> db_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::int64_t requested_ = 0;  // rounds asked for, counted as the round they must start after
    std::int64_t started_ = 0;
    std::int64_t finished_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace mastotape::schema
