#pragma once

// The recorder's disk side: a bounded queue of records and a thread that commits them to the tape
// in batches (at most every `batch_interval` or `batch_records`, whichever comes first), each batch
// in one transaction. The network side only ever enqueues; it never waits on SQLite.
//
// What a crash can lose is bounded: the batch being committed, and what is queued behind it,
// which has_room() keeps under one batch (or half the byte limit) by holding reading back.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "schema/tape/session_settings.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::record {

struct WriterOptions {
    std::chrono::milliseconds batch_interval{250};
    std::size_t batch_records = 1000;
    bool sync_full = false;  // commit every record on its own, with synchronous=FULL
    // Bytes of queued records (their frame bytes and a fixed share each). Reading pauses at half
    // of it, so the recorder's memory stays flat when the disk is slower than the network.
    std::size_t queue_limit_bytes = std::size_t{16} * 1024 * 1024;
    // Called once, on the writer thread, when the recording must stop: with the first storage
    // error (a full disk), after which nothing more is written; or when the tape's path no longer
    // names the file being written (deleted, or another file moved over it), after which what is
    // queued is still committed and finish() saves it all beside the path.
    std::function<void(const std::string&)> on_error;
    // Called on the writer thread each time it has taken a batch and has_room() holds again: the
    // network side, held back, may read on.
    std::function<void()> on_room;
    // Added to after each commit: the bytes of frames and backfilled bodies it held (for
    // metrics; shared by the writers of a rotating recording).
    std::shared_ptr<std::atomic<std::int64_t>> committed_bytes;
};

class TapeWriter {
   public:
    using Record = schema::Record;

    // Takes ownership of `store` for the writer thread; `session_id` is the session written to.
    TapeWriter(std::unique_ptr<schema::TapeStore> store, std::int64_t session_id,
               WriterOptions options);
    ~TapeWriter();  // finishes: commits what is queued
    TapeWriter(const TapeWriter&) = delete;
    TapeWriter& operator=(const TapeWriter&) = delete;

    // Thread-safe. Returns false when the queue is over its byte limit: the caller should stop
    // reading until has_room() (the record is queued all the same).
    bool push(Record r);
    // Whether reading may go on: less than a batch of records, and under half the byte limit, is
    // queued behind the batch being committed.
    bool has_room() const;
    // Commits everything queued so far, ends the writer thread, then marks the session ended.
    // When the tape's path lost the file, copies the tape to rescue_path() (see rescued()).
    void finish(std::int64_t ended_wall_ns, std::int64_t ended_offset_ns, schema::SessionEnd reason,
                const std::string& detail);
    // Network thread, before finish(): the session goes on in another file (--rotate); finish()
    // says so in the session's settings.
    void set_rotated_to(const schema::RotationLink& next);
    // Thread-safe, for metrics and --rotate SIZE: bytes of records queued; the tape file's size
    // with its WAL after the last commit.
    std::size_t queued_bytes() const { return queued_bytes_.load(std::memory_order_relaxed); }
    std::int64_t file_bytes() const { return file_bytes_.load(std::memory_order_relaxed); }
    // The first storage error, empty when none; once set, nothing more is written.
    std::string error() const;
    // After finish(): when the tape's path lost the file, one line for the user saying so and
    // where the tape was saved (or why it could not be); empty otherwise.
    std::string rescued() const;
    // Where a tape whose path lost it is saved: `DIR/NAME.rescued-PID.EXT` beside the path.
    static std::string rescue_path(const std::string& tape);

   private:
    void run();
    // Commits what is queued and ends the thread.
    void stop_thread();
    void write_batch(std::deque<Record>& items);
    void fail(const std::string& error);
    // Checks, before each commit, that the path still names the tape being written.
    void check_path();
    // Saves the tape beside its lost path; returns the line rescued() then says.
    std::string rescue();

    std::unique_ptr<schema::TapeStore> store_;
    std::int64_t session_id_;
    WriterOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Record> queue_;
    // Written under mutex_, read without it by has_room() (asked before every read).
    std::atomic<std::size_t> queued_bytes_{0};
    std::atomic<std::size_t> queued_records_{0};
    std::atomic<std::int64_t> file_bytes_{0};
    std::optional<schema::RotationLink> rotated_to_;  // set before finish(), read by it
    bool stopping_ = false;
    std::string error_;
    std::string path_problem_;  // written once by the writer thread, under mutex_
    std::string rescued_;
    std::thread thread_;
};

}  // namespace mastotape::record
