#pragma once

// When a replay ends by itself: with --exit-when-done, once the clients are done (no stream open,
// and no connection, refusal or request for exit_grace_s); with --timeout, when that has passed,
// done or not. Network thread only.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <functional>

#include "replay/replay_clock.hpp"

namespace mastotape::replay {

class RunEnd {
   public:
    // What it looks at: the streams open, and the clients seen (for the --timeout line).
    struct Probe {
        std::function<std::size_t()> live_streams;
        std::function<std::size_t()> clients_seen;
    };
    // `ioc` is only kept: the object may be made before it. `exit_when_done`: whether quiet ends
    // the run; `grace_s`: how long the quiet lasts.
    RunEnd(boost::asio::io_context& ioc, bool exit_when_done, double grace_s, Probe probe);

    // A client's request began or ended (requests under way hold the quiet off).
    void request_began() { ++in_flight_; }
    void request_ended();
    // A client's stream or refused attempt ended.
    void activity_ended();
    // Arms --timeout on `timer`: after `timeout_s` the run stops, with timed_out().
    void start_timeout(boost::asio::steady_timer& timer, double timeout_s);

    // The run ended because the clients were done or the timeout passed: then every client is
    // judged on the whole tape (what it did not take before it left, it missed).
    bool ended_by_clients() const { return ended_by_clients_; }
    bool timed_out() const { return timed_out_; }

   private:
    boost::asio::awaitable<void> watch_quiet();

    boost::asio::io_context& ioc_;
    bool exit_when_done_;
    SteadyClock::duration grace_;
    Probe probe_;
    int in_flight_ = 0;
    // The quiet's timer, in watch_quiet's frame (which the io_context owns: this object outlives
    // it), and when the quiet ends unless something happens first.
    boost::asio::steady_timer* quiet_ = nullptr;
    SteadyClock::time_point quiet_deadline_{};
    bool watching_ = false;
    bool ended_by_clients_ = false;
    bool timed_out_ = false;
};

}  // namespace mastotape::replay
