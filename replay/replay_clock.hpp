#pragma once

// The replay's sense of time: the only place that reads the clock mode, the speed, the pause and
// the virtual clock. Times it hands out are on its own timeline ("replay time"), which is real
// time (steady_clock, or a fake in tests) with every pause cut out: a pause stops everything that
// waits on the timeline, and a resume lets it go on where it stood, without touching the anchors
// that clients and connections keep.
//
// Tape time is nanoseconds from the session's start. At a real-time clock each connection and
// each client anchors tape time to replay time (an offset was due at a time point) and the speed
// scales the rest; at --max-speed everything is due at once; a virtual clock (and the shared
// clock) is one tape time for everybody.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace mastotape::replay {

enum class ClockMode {
    realtime,       // the tape's schedule, scaled by `speed`
    max_speed,      // as fast as each client takes it, order kept
    virtual_clock,  // moves only through the control API
};

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

inline double in_seconds(SteadyClock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// One connection's anchor: the tape offset `base` was due at replay time `r0`.
struct ConnectionClock {
    TimePoint r0{};
    std::int64_t base = 0;
};

// One client's own clock (per-client mode): the tape offset `offset` was its time at `at`.
struct ClientClock {
    std::int64_t offset = 0;
    TimePoint at{};
    bool started = false;
    // Where its REST view stands (see Admission): at --max-speed it is the view; at a real-time
    // clock the view does not go back before it.
    std::optional<std::int64_t> rest_at;
};

class ReplayClock {
   public:
    using TimeSource = std::function<TimePoint()>;

    // `tape_start_ns`: the tape time of the first connection's handshake, where a shared clock
    // starts. `now` is the real time (steady_clock::now unless a test fakes it).
    ReplayClock(ClockMode mode, double speed, bool shared, std::int64_t tape_start_ns,
                TimeSource now = SteadyClock::now);

    ClockMode mode() const { return mode_; }
    double speed() const { return speed_; }
    // One timeline for every client: the shared-clock mode, or the virtual clock.
    bool one_timeline() const { return shared_ || mode_ == ClockMode::virtual_clock; }
    bool shared() const { return shared_; }

    // Replay time now: stands still while paused.
    TimePoint now() const;
    // The real (steady_clock) time at which replay time `t` comes, for a timer; max while paused.
    TimePoint real(TimePoint t) const;
    void pause();
    void resume();
    bool paused() const { return paused_; }

    // The virtual clock's tape time; moved only by advance() and move_to().
    std::int64_t virtual_ns() const { return virtual_ns_; }
    void advance(std::int64_t ns) { virtual_ns_ += ns; }
    // Moves the virtual clock forward to `ns` (never back).
    void move_to(std::int64_t ns);

    // The tape time on the one timeline (virtual or shared clock; at other clocks, what a shared
    // clock would say, for /status).
    std::int64_t shared_tape_now() const;
    // The tape time on a client's clock: what has happened for its REST requests.
    std::int64_t tape_now(const ClientClock& c) const;
    // Sets a client's clock to tape time `offset` now.
    void set(ClientClock& c, std::int64_t offset) const;

    // A connection starting now at tape time `start` (on the shared clock: from the start).
    ConnectionClock connection_at(std::int64_t start) const;
    // At a real-time clock: the replay time when `offset` is due on connection `c`.
    TimePoint due_at(const ConnectionClock& c, std::int64_t offset) const;

    // Whether `offset` is due on connection `c` now, and if not, the real time to wake at to
    // ask again (max: only when something changes, as a pause or the virtual clock).
    struct Due {
        bool now = false;
        TimePoint wake{};
    };
    Due due(const ConnectionClock& c, std::int64_t offset) const;

    // Real time that tape time `ns` takes at this clock: scaled by the speed at a real-time clock,
    // nothing at --max-speed or a virtual clock.
    SteadyClock::duration scaled(std::int64_t ns) const;
    // How long a connection whose recorded end was a heartbeat timeout stays silent, when the
    // recording took `gap_ns` to reconnect: the gap scaled, at most two minutes; at --max-speed
    // set_max_speed_silence()'s (--silence: a client without a watchdog of its own is not held
    // for minutes); none at a virtual clock.
    SteadyClock::duration silence_for(std::int64_t gap_ns) const;
    void set_max_speed_silence(SteadyClock::duration d) { max_speed_silence_ = d; }

   private:
    ClockMode mode_;
    double speed_;
    bool shared_;
    std::int64_t tape_start_ns_;
    TimeSource source_;
    TimePoint started_;                     // replay time the shared timeline began
    SteadyClock::duration paused_total_{};  // real time spent paused, before the current pause
    bool paused_ = false;
    TimePoint paused_at_{};  // real time the current pause began
    std::int64_t virtual_ns_ = 0;
    SteadyClock::duration max_speed_silence_ = std::chrono::seconds(2);
};

}  // namespace mastotape::replay
