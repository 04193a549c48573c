#include "schema/tape/wal_checkpointer.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>

#include "schema/tape/background_thread.hpp"

namespace mastotape::schema {

WalCheckpointer::WalCheckpointer(const std::string& path)
    : db_(std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE)) {
    db_->setBusyTimeout(5000);
    // Checkpoints sync the WAL before copying it and the file after, as the writer's own would.
    db_->exec("PRAGMA synchronous = NORMAL");
    thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void WalCheckpointer::request() {
    {
        std::lock_guard lock(mutex_);
        // A round already waiting to start will see everything committed so far.
        if (requested_ > started_) {
            return;
        }
        requested_ = started_ + 1;
    }
    wake_.notify_one();
}

void WalCheckpointer::run_and_wait() {
    std::unique_lock lock(mutex_);
    const std::int64_t target = started_ + 1;  // a round running now may have begun too early
    requested_ = std::max(requested_, target);
    wake_.notify_one();
    done_.wait(lock, [&] { return finished_ >= target || stopping_; });
}

std::int64_t WalCheckpointer::rounds_done() const {
    std::lock_guard lock(mutex_);
    return finished_;
}

void WalCheckpointer::run() {
    make_this_thread_background();
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || requested_ > started_; });
            if (stopping_) {
                done_.notify_all();
                return;
            }
            ++started_;
        }
        // Errors are left alone, as SQLite's automatic checkpoint leaves them: what is not yet
        // copied stays in the WAL, where every reader finds it and the next round tries again;
        // a disk that is really failing fails the writer's next commit, which reports it. BUSY
        // means another connection (a replayer closing the tape) is checkpointing right now.
        sqlite3_wal_checkpoint_v2(db_->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr);
        {
            std::lock_guard lock(mutex_);
            ++finished_;
        }
        done_.notify_all();
    }
}

}  // namespace mastotape::schema
