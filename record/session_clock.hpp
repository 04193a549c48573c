#pragma once

// A recording session's two clocks: a monotonic offset from its start, which orders and spaces
// everything on the tape, and the wall-clock time of its start, from which each record's
// wall-clock time follows. Read-only after construction, so any thread may read it.

#include <chrono>
#include <cstdint>

namespace mastotape::record {

class SessionClock {
   public:
    SessionClock()
        : t0_(std::chrono::steady_clock::now()),
          first_t0_(t0_),
          started_wall_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count()) {}

    // Nanoseconds since the session started.
    std::int64_t offset_now() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - t0_)
            .count();
    }
    // The Unix wall-clock time of the offset `offset_ns`, in nanoseconds.
    std::int64_t wall(std::int64_t offset_ns) const { return started_wall_ns_ + offset_ns; }
    std::int64_t started_wall_ns() const { return started_wall_ns_; }
    // Nanoseconds since the recording started, across rotations.
    std::int64_t elapsed_ns() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - first_t0_)
            .count();
    }
    // The next file's session starts at `offset_ns` of this one: offsets count from there.
    void rebase(std::int64_t offset_ns) {
        t0_ += std::chrono::nanoseconds(offset_ns);
        started_wall_ns_ += offset_ns;
    }

   private:
    std::chrono::steady_clock::time_point t0_;
    std::chrono::steady_clock::time_point first_t0_;
    std::int64_t started_wall_ns_;
};

}  // namespace mastotape::record
