#include "schema/tape/new_tape.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mastotape::schema {
namespace {

namespace fs = std::filesystem;

// Syncs the file or directory at `path` to disk.
void sync_path(const std::string& path, const std::string& name_in_errors) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const std::string reason = std::strerror(errno);
        if (fd >= 0) {
            ::close(fd);
        }
        throw TapeError(name_in_errors + ": cannot sync the new tape to disk: " + reason);
    }
    ::close(fd);
}

}  // namespace

int remove_dead_leftovers(const std::string& target, const std::string& infix,
                          const std::string& suffix) {
    const fs::path t(target);
    const std::string prefix = t.filename().string() + infix;
    std::error_code ec;
    fs::directory_iterator it(t.has_parent_path() ? t.parent_path() : fs::path("."), ec);
    int removed = 0;
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0) {
            continue;
        }
        std::string rest = name.substr(prefix.size());
        const std::size_t digits = rest.find_first_not_of("0123456789");
        const std::string pid = rest.substr(0, digits);
        rest = digits == std::string::npos ? "" : rest.substr(digits);
        const bool ours = rest == suffix || rest == suffix + "-wal" || rest == suffix + "-shm" ||
                          rest == suffix + "-journal";
        if (pid.empty() || pid.size() > 9 || !ours) {
            continue;
        }
        // kill(pid, 0) fails with ESRCH only when no process has that pid.
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) {
            std::error_code ignored;
            removed += fs::remove(it->path(), ignored) ? 1 : 0;
        }
    }
    return removed;
}

bool tape_is_new(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}

NewTape::NewTape(std::string path)
    : path_(std::move(path)), partial_(path_ + ".partial-" + std::to_string(::getpid())) {
    if (!tape_is_new(path_)) {
        throw TapeError(path_ + ": exists; a new tape is made only where there is none");
    }
    std::error_code ignored;
    fs::remove(partial_, ignored);  // left by a killed process that had this pid
    remove_dead_leftovers(path_, ".partial-", "");
    try {
        store_ = std::make_unique<TapeStore>(partial_, OpenMode::create);
    } catch (const TapeError& e) {
        // Named by the path the user gave, not the scratch name.
        std::string message = e.what();
        if (message.rfind(partial_, 0) == 0) {
            message = path_ + message.substr(partial_.size());
        }
        throw TapeError(message);
    }
    store_->set_bulk_load(true);
}

NewTape::~NewTape() {
    if (!finished_) {
        store_.reset();
        std::error_code ignored;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            fs::remove(partial_ + suffix, ignored);
        }
    }
}

void NewTape::finish() {
    store_->set_bulk_load(false);
    store_.reset();  // the last connection: SQLite checkpoints and removes the (empty) WAL
    sync_path(partial_, path_);
    // Never over a file that appeared meanwhile.
    if (::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
        const std::string reason = std::strerror(errno);
        finished_ = true;  // the finished tape stays at its scratch name, said in the error
        throw TapeError(path_ + ": cannot put the new tape in place (" + reason + "); it is at " +
                        partial_);
    }
    finished_ = true;
    const auto dir = fs::path(path_).parent_path();
    sync_path(dir.empty() ? "." : dir.string(), path_);
}

}  // namespace mastotape::schema
