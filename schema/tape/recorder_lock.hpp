#pragma once

// Telling a live recorder from a dead one. A recorder holds an open-file-description lock on one
// byte of its tape, its session's, far past the bytes SQLite locks; the kernel lets it go when
// the process ends, however it ends (kill -9 included). Readers probe it: a session without an
// end whose lock nobody holds was interrupted, at once, not after its heartbeat goes stale.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schema/tape/model.hpp"

namespace mastotape::schema {

// The key in a session's settings that says its recorder held the lock and the lock could be
// seen (a filesystem where /proc/locks names it): only then do readers go by the lock.
inline constexpr std::string_view kRecorderLockSetting = "recorder_lock";

class RecorderLock {
   public:
    // Takes session `session_id`'s lock on the tape at `path`; throws TapeError when it cannot
    // (another recorder holds it).
    RecorderLock(const std::string& path, std::int64_t session_id);
    ~RecorderLock();
    RecorderLock(const RecorderLock&) = delete;
    RecorderLock& operator=(const RecorderLock&) = delete;

   private:
    int fd_ = -1;
};

// Whether a live process holds session `session_id`'s lock on the tape at `path` (as the
// kernel's /proc/locks lists it); nullopt when that cannot be told.
std::optional<bool> recorder_alive(const std::string& path, std::int64_t session_id);

// The state of session `s` of the tape at `path`: ended; recording while its recorder's lock is
// held; interrupted when it is not. For a session whose recorder took no lock it could see (an
// older recorder, another filesystem), or where the lock cannot be probed, by the freshness of
// `updated_wall_ns` (session_state()).
SessionState live_state(const std::string& path, const Session& s, std::int64_t now_wall_ns);

}  // namespace mastotape::schema
