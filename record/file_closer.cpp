#include "record/file_closer.hpp"

#include <chrono>
#include <filesystem>

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
        jobs_.push_back({std::move(file), open});
    }
    wake_.notify_all();
}

void FileCloser::drain() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return jobs_.empty() && !busy_; });
}

void FileCloser::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) {
                return;  // stopping, with nothing left
            }
            job = std::move(jobs_.front());
            jobs_.pop_front();
            busy_ = true;
        }
        close_one(job);
        {
            std::lock_guard lock(mutex_);
            busy_ = false;
        }
        done_.notify_all();
    }
}

void FileCloser::close_one(Job& job) {
    ClosingFile& f = job.file;
    if (f.writer) {
        f.writer->finish(f.ended_wall_ns, f.ended_offset_ns, schema::SessionEnd::rotated,
                         f.detail);
        const std::string error = f.writer->error();
        const std::string rescued = f.writer->rescued();
        f.writer.reset();  // the store closes: its WAL is checkpointed into the file
        f.lock.reset();
        if (!error.empty() || !rescued.empty()) {
            ++counts_.failures;
            log_("closing " + f.path + " failed: " + (rescued.empty() ? error : rescued));
            return;
        }
    }
    std::string note;
    if (finish_) {
        try {
            note = " (" + finish_(f.path) + ")";
        } catch (const std::exception& e) {
            ++counts_.failures;
            note = " (kept as recorded: " + std::string(e.what()) + ")";
        }
    }
    ++counts_.closed;
    log_("closed " + f.path + note);
    apply_retention(job.open);
}

void FileCloser::apply_retention(const std::string& open) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
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
        log_("retention: deleted " + f.path + " (" + std::to_string(f.bytes) + " bytes)");
    }
}

}  // namespace mastotape::record
