#pragma once

// A connection's heartbeat watchdog: once nothing has arrived (no frame, no ping) for the
// heartbeat timeout, it calls its action once, on the executor's thread, which ends the
// connection. Destroying the watchdog stops it; the action is never called after that.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace mastotape::record {

class Watchdog {
   public:
    using Clock = std::chrono::steady_clock;

    // Starts watching from now. `on_silence` must stay callable while the watchdog lives.
    Watchdog(const boost::asio::any_io_executor& ex, Clock::duration timeout,
             std::function<void()> on_silence);
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    // Something arrived: the silence starts over.
    void feed();
    // Whether the silence lasted the timeout (and the action ran).
    bool fired() const;

   private:
    struct State;
    std::shared_ptr<State> state_;  // shared with the waiting timer's handler
};

}  // namespace mastotape::record
