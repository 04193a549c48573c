#include "record/file_closer.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "schema/tape/background_thread.hpp"
#include "schema/tape/new_tape.hpp"

namespace mastotape::record {

FileCloser::FileCloser(const ArchiveFiles& archive, FinishFile finish, Log log)
    : archive_(archive), finish_(std::move(finish)), log_(std::move(log)) {
    // What a killed recorder made ahead and never used.
    const std::string prepared = archive_.prepared_path();
    schema::remove_dead_leftovers(prepared.substr(0, prepared.rfind('-')), "-", ".db");
    thread_ = std::jthread([this] {
        schema::make_this_thread_background();
        run();
    });
}

FileCloser::~FileCloser() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (prepared_) {
        std::error_code ec;
        std::filesystem::remove(archive_.prepared_path(), ec);
    }
}

void FileCloser::close(ClosingFile file, const std::string& open) {
    {
        std::lock_guard lock(mutex_);
        open_ = open;
        jobs_.push_back({std::move(file)});
    }
    wake_.notify_all();
}

void FileCloser::prepare() {
    {
        std::lock_guard lock(mutex_);
        prepare_ = true;
    }
    wake_.notify_all();
}

bool FileCloser::take_prepared() { return prepared_.exchange(false); }

void FileCloser::drain() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return jobs_.empty() && to_finish_.empty() && !prepare_ && !busy_; });
    lock.unlock();
    if (prepared_.exchange(false)) {
        std::error_code ec;
        std::filesystem::remove(archive_.prepared_path(), ec);
    }
}

void FileCloser::make_prepared() {
    const std::string path = archive_.prepared_path();
    const std::string making = path + ".making";
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    try {
        std::filesystem::remove(making, ec);
        {
            schema::TapeStore store(making, schema::OpenMode::create);
        }  // closed: its WAL checkpointed and gone
        std::filesystem::rename(making, path);
        prepared_ = true;
    } catch (const std::exception& e) {
        // The rotation then makes its file itself.
        log_("could not make the next file ahead (" + std::string(e.what()) + ")");
        std::filesystem::remove(making, ec);
    }
}

void FileCloser::run() {
    for (;;) {
        std::optional<Job> job;
        std::string path;
        bool make = false;
        {
            std::unique_lock lock(mutex_);
            busy_ = false;
            done_.notify_all();
            // Ending sessions first; compaction when no session waits.
            wake_.wait(lock, [this] {
                return stopping_ || !jobs_.empty() || prepare_ || !to_finish_.empty();
            });
            if (!jobs_.empty()) {
                job = std::move(jobs_.front());
                jobs_.pop_front();
            } else if (prepare_) {
                prepare_ = false;
                make = true;
            } else if (to_finish_.empty()) {
                return;  // stopping, with nothing left
            } else {
                path = std::move(to_finish_.front());
                to_finish_.pop_front();
            }
            busy_ = true;
        }
        if (make) {
            if (!prepared_) {
                make_prepared();
            }
        } else if (!job) {
            finish_file(path);
            // What a compaction took (a dictionary's training, whole pages of frames) goes back:
            // a recorder that runs for months stays at its size.
            ::malloc_trim(0);
        } else if (end_session(*job)) {
            {
                std::lock_guard lock(mutex_);
                to_finish_.push_back(job->file.path);
            }
            apply_retention();
        }
    }
}

bool FileCloser::end_session(Job& job) {
    ClosingFile& f = job.file;
    if (!f.writer) {
        stamp(f);
        log_("closed " + f.path);  // the recording's last file: its session ended already
        ++counts_.closed;
        return true;
    }
    f.writer->finish(f.ended_wall_ns, f.ended_offset_ns, schema::SessionEnd::rotated, f.detail);
    const std::string error = f.writer->error();
    const std::string rescued = f.writer->rescued();
    f.writer.reset();  // the store closes: its WAL is checkpointed into the file
    f.lock.reset();
    if (!error.empty() || !rescued.empty()) {
        ++counts_.failures;
        log_("closing " + f.path + " failed: " + (rescued.empty() ? error : rescued));
        return false;
    }
    stamp(f);
    ++counts_.closed;
    log_("closed " + f.path);
    return true;
}

// A closed file's modification time is when its recording ended, whenever this thread got to
// it: retention goes by it (and compaction keeps it).
void FileCloser::stamp(const ClosingFile& f) {
    if (f.ended_wall_ns <= 0) {
        return;
    }
    const struct timespec at {
        static_cast<time_t>(f.ended_wall_ns / 1'000'000'000), f.ended_wall_ns % 1'000'000'000
    };
    const struct timespec times[2] = {at, at};
    ::utimensat(AT_FDCWD, f.path.c_str(), times, 0);
}

void FileCloser::finish_file(const std::string& path) {
    if (!finish_) {
        return;
    }
    try {
        log_(path + ": " + finish_(path));
    } catch (const std::exception& e) {
        ++counts_.failures;
        log_("could not finish " + path + " (it is kept as recorded): " + e.what());
    }
}

void FileCloser::apply_retention() {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::vector<std::string> open;
    {
        std::lock_guard lock(mutex_);
        open.push_back(open_);
        for (const auto& j : jobs_) {
            open.push_back(j.file.path);
        }
    }
    for (const auto& f : archive_.expired(open, now)) {
        std::error_code ec;
        std::filesystem::remove(f.path, ec);
        if (ec) {
            ++counts_.failures;
            log_("retention: could not delete " + f.path + ": " + ec.message());
            continue;
        }
        ++counts_.retention_deleted;
        counts_.retention_deleted_bytes += f.bytes;
        {
            std::lock_guard lock(mutex_);
            std::erase(to_finish_, f.path);  // deleted before its turn to be compacted
        }
        log_("retention: deleted " + f.path + " (" + std::to_string(f.bytes) + " bytes)");
    }
}

}  // namespace mastotape::record
