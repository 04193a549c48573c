#include "replay/run_end.hpp"

#include "replay/coro.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <iostream>
#include <utility>

namespace mastotape::replay {
namespace {

namespace net = boost::asio;

SteadyClock::duration seconds(double s) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

RunEnd::RunEnd(net::io_context& ioc, bool exit_when_done, double grace_s, Probe probe)
    : ioc_(ioc),
      exit_when_done_(exit_when_done),
      grace_(seconds(grace_s)),
      probe_(std::move(probe)) {}

void RunEnd::request_ended() {
    --in_flight_;
    activity_ended();
}

void RunEnd::activity_ended() {
    if (!exit_when_done_) {
        return;
    }
    if (!watching_) {
        watching_ = true;  // its first run is posted: until then quiet_ is not set
        net::co_spawn(ioc_, watch_quiet(), net::detached);
    }
    // Each ending starts the grace over: the timer's wait ends (aborted) and waits on anew.
    quiet_deadline_ = SteadyClock::now() + grace_;
    if (quiet_ != nullptr) {
        quiet_->expires_at(quiet_deadline_);
    }
}

// The clients are done when no stream is open and no client connected, was refused or asked
// anything for the grace: a client that read what it wanted and left, one that played the whole
// tape, one that gave up. Stops the server then. The timer is armed by the endings, never polled:
// a stream or request still under way when it fires waits for its own ending to arm it again.
net::awaitable<void> RunEnd::watch_quiet() {
    net::steady_timer timer(ioc_);
    quiet_ = &timer;
    timer.expires_at(quiet_deadline_);
    for (;;) {
        const auto [ec] = co_await timer.async_wait(kUseTuple);
        if (ec == net::error::operation_aborted) {
            continue;  // re-armed by an ending
        }
        if (probe_.live_streams() == 0 && in_flight_ == 0) {
            ended_by_clients_ = true;
            ioc_.stop();
            break;
        }
        timer.expires_at(SteadyClock::time_point::max());
    }
    quiet_ = nullptr;
    watching_ = false;
}

void RunEnd::start_timeout(net::steady_timer& timer, double timeout_s) {
    timer.expires_after(seconds(timeout_s));
    timer.async_wait([this, timeout_s](const boost::system::error_code& ec) {
        if (ec) {
            return;
        }
        std::cerr << "replay: --timeout " << timeout_s << " s passed with " << probe_.live_streams()
                  << " streams open and " << probe_.clients_seen()
                  << " clients seen; stopping with exit code 1\n";
        timed_out_ = true;
        ended_by_clients_ = true;
        ioc_.stop();
    });
}

}  // namespace mastotape::replay
