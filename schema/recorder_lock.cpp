#include "schema/recorder_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "schema/tape_store.hpp"

namespace mastotape::schema {
namespace {

// Far past SQLite's lock bytes (1 GiB in) and any real file size: one byte per session.
constexpr off_t kLockBase = off_t{1} << 62;

struct flock lock_of(std::int64_t session_id, short type) {
    struct flock l {};
    l.l_type = type;
    l.l_whence = SEEK_SET;
    l.l_start = kLockBase + static_cast<off_t>(session_id);
    l.l_len = 1;
    return l;
}

}  // namespace

RecorderLock::RecorderLock(const std::string& path, std::int64_t session_id) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
        throw TapeError(path + ": cannot open to lock session " + std::to_string(session_id) +
                        ": " + std::strerror(errno));
    }
    struct flock l = lock_of(session_id, F_WRLCK);
    if (::fcntl(fd_, F_OFD_SETLK, &l) != 0) {
        const int err = errno;
        ::close(fd_);
        throw TapeError(path + ": cannot lock session " + std::to_string(session_id) +
                        (err == EAGAIN || err == EACCES ? ": another recorder holds it"
                                                        : ": " + std::string(std::strerror(err))));
    }
}

RecorderLock::~RecorderLock() { ::close(fd_); }

std::optional<bool> recorder_alive(const std::string& path, std::int64_t session_id) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    struct flock l = lock_of(session_id, F_WRLCK);
    const int rc = ::fcntl(fd, F_OFD_GETLK, &l);
    ::close(fd);
    if (rc != 0) {
        return std::nullopt;
    }
    return l.l_type != F_UNLCK;
}

SessionState live_state(const std::string& path, const Session& s, std::int64_t now_wall_ns) {
    if (s.ended_wall_ns) {
        return SessionState::ended;
    }
    if (const auto alive = recorder_alive(path, s.id)) {
        return *alive ? SessionState::recording : SessionState::interrupted;
    }
    return session_state(s, now_wall_ns);
}

}  // namespace mastotape::schema
