#pragma once

// The closing of a rotated archive's files, off the network thread: the session of a file the
// recording has left is ended (everything queued for it committed, its link to the next file
// written) and its store and lock let go; then the retention policy is applied; then the file is
// finished (compacted and made read-only, by the caller's hook). Ending a session comes before
// any finishing: that is what holds memory and descriptors, while a file waiting to be compacted
// is only its name. So a recorder that rotates faster than files compact (a --max-speed replay)
// stays flat; the files left wait for their turn, and retention never deletes one mid-compaction
// (both run on this thread) and drops one it deletes from the queue. It also makes the next file
// ahead, an empty tape under a hidden name, so that a rotation on the network thread renames a
// file instead of creating one: a rotation holds reading about 2 ms, where making the file took
// 20-35 ms (frames read meanwhile are stamped late).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "record/archive_files.hpp"
#include "record/tape_writer.hpp"
#include "schema/tape/recorder_lock.hpp"

namespace mastotape::record {

// A file to close. Without a writer, the file's session is already ended (the recording's last).
struct ClosingFile {
    std::string path;
    std::unique_ptr<TapeWriter> writer;
    std::unique_ptr<schema::RecorderLock> lock;
    std::int64_t ended_wall_ns = 0;
    std::int64_t ended_offset_ns = 0;
    std::string detail;
};

// What the closer has done, for metrics (read on any thread).
struct CloserCounts {
    std::atomic<std::int64_t> closed{0};  // sessions ended (the files then finished in turn)
    std::atomic<std::int64_t> retention_deleted{0};
    std::atomic<std::int64_t> retention_deleted_bytes{0};
    std::atomic<std::int64_t> failures{0};
};

class FileCloser {
   public:
    // Returns what it did, for the log ("compacted: 1.2 MB -> 0.4 MB"); throws what went wrong.
    using FinishFile = std::function<std::string(const std::string& path)>;
    using Log = std::function<void(const std::string& line)>;  // thread-safe

    // `finish` may be empty (the files stay as the recorder wrote them).
    FileCloser(const ArchiveFiles& archive, FinishFile finish, Log log);
    ~FileCloser();  // closes what is queued
    FileCloser(const FileCloser&) = delete;
    FileCloser& operator=(const FileCloser&) = delete;

    // Queues `file`; `open` is the file now being written. Retention never deletes that one, nor
    // a file whose session waits here to be ended: their writers still write them (and a file
    // written only into its WAL keeps the time it was made, older than the files closed since).
    void close(ClosingFile file, const std::string& open);
    // Makes the next file ahead (ArchiveFiles::prepared_path()), an empty tape, unless one is
    // ready: after ending sessions, before compacting.
    void prepare();
    // Network thread: whether a file made ahead is ready; if so it is the caller's from now on
    // (to rename into place), and the next one is made after the next prepare().
    bool take_prepared();
    // Waits until every job queued so far is done; then removes a file made ahead and unused.
    void drain();
    const CloserCounts& counts() const { return counts_; }

   private:
    struct Job {
        ClosingFile file;
    };
    void run();
    // Ends the session of `job`'s file; false when that failed (the file is left as it is).
    bool end_session(Job& job);
    void finish_file(const std::string& path);
    void apply_retention();
    static void stamp(const ClosingFile& f);
    void make_prepared();

    const ArchiveFiles& archive_;
    FinishFile finish_;
    Log log_;
    CloserCounts counts_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::deque<Job> jobs_;               // files to end the sessions of
    std::deque<std::string> to_finish_;  // files to compact
    std::string open_;                   // the file being written, as close() last said
    bool prepare_ = false;               // a file to make ahead was asked for
    std::atomic<bool> prepared_{false};  // one is ready at archive_.prepared_path()
    bool busy_ = false;
    bool stopping_ = false;
    std::jthread thread_;
};

}  // namespace mastotape::record
