#include "record/file_closer.hpp"

#include <malloc.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "schema/tape/background_thread.hpp"

namespace mastotape::record {

FileCloser::FileCloser(const ArchiveFiles& archive, FinishFile finish, Log log)
    : archive_(archive), finish_(std::move(finish)), log_(std::move(log)) {
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
}

void FileCloser::close(ClosingFile file, const std::string& open) {
    {
        std::lock_guard lock(mutex_);
        open_ = open;
        jobs_.push_back({std::move(file)});
    }
    wake_.notify_all();
}

void FileCloser::drain() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return jobs_.empty() && to_finish_.empty() && !busy_; });
}

void FileCloser::run() {
    for (;;) {
        std::optional<Job> job;
        std::string path;
        {
            std::unique_lock lock(mutex_);
            busy_ = false;
            done_.notify_all();
            // Ending sessions first; compaction when no session waits.
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty() || !to_finish_.empty(); });
            if (!jobs_.empty()) {
                job = std::move(jobs_.front());
                jobs_.pop_front();
            } else if (to_finish_.empty()) {
                return;  // stopping, with nothing left
            } else {
                path = std::move(to_finish_.front());
                to_finish_.pop_front();
            }
            busy_ = true;
        }
        if (!job) {
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
    ++counts_.closed;
    log_("closed " + f.path);
    return true;
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
