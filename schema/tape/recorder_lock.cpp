#include "schema/tape/recorder_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "schema/tape/session_settings.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {
namespace {

// Far past SQLite's lock bytes (1 GiB in) and any real file size: one byte per session.
constexpr off_t kLockBase = off_t{1} << 62;

struct flock write_lock_of(std::int64_t session_id) {
    struct flock l {};
    l.l_type = F_WRLCK;
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
    struct flock l = write_lock_of(session_id);
    if (::fcntl(fd_, F_OFD_SETLK, &l) != 0) {
        const int err = errno;
        ::close(fd_);
        throw TapeError(path + ": cannot lock session " + std::to_string(session_id) +
                        (err == EAGAIN || err == EACCES ? ": another recorder holds it"
                                                        : ": " + std::string(std::strerror(err))));
    }
}

RecorderLock::~RecorderLock() { ::close(fd_); }

// Read from /proc/locks rather than probed with F_OFD_GETLK: probing needs a descriptor of the
// tape, and closing it would drop every POSIX lock this process's SQLite holds on the file.
std::optional<bool> recorder_alive(const std::string& path, std::int64_t session_id) {
    struct stat st {};
    std::ifstream locks("/proc/locks");
    if (::stat(path.c_str(), &st) != 0 || !locks) {
        return std::nullopt;
    }
    char file[64];
    std::snprintf(file, sizeof file, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                  static_cast<unsigned long long>(st.st_ino));
    const std::string byte = std::to_string(kLockBase + static_cast<off_t>(session_id));
    // "1: OFDLCK ADVISORY  WRITE -1 fe:00:11042832 4611686018427387905 4611686018427387905"
    std::string line;
    while (std::getline(locks, line)) {
        std::istringstream in(line);
        std::string id, kind, mode, type, pid, where, start, end;
        if (in >> id >> kind >> mode >> type >> pid >> where >> start >> end && kind == "OFDLCK" &&
            where == file && start == byte) {
            return true;
        }
    }
    return false;
}

SessionState live_state(const std::string& path, const Session& s, std::int64_t now_wall_ns) {
    if (s.ended_wall_ns) {
        return SessionState::ended;
    }
    if (!SessionSettings::from_json(s.settings_json).recorder_lock) {
        return session_state(s, now_wall_ns);
    }
    if (const auto alive = recorder_alive(path, s.id)) {
        return *alive ? SessionState::recording : SessionState::interrupted;
    }
    return session_state(s, now_wall_ns);
}

}  // namespace mastotape::schema
