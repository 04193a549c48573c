#include "replay/run_end.hpp"

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
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
// How often the quiet after the last stream is looked at.
constexpr auto kQuietCheck = std::chrono::milliseconds(50);

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
    last_activity_ = SteadyClock::now();
    if (exit_when_done_ && probe_.live_streams() == 0) {
        stop_when_quiet();
    }
}

// The clients are done when no stream is open and no client connected, was refused or asked
// anything for the grace: a client that read what it wanted and left, one that played the whole
// tape, one that gave up. Stops the server then; gives up waiting when a stream starts.
void RunEnd::stop_when_quiet() {
    if (waiting_for_quiet_) {
        return;
    }
    waiting_for_quiet_ = true;
    net::co_spawn(
        ioc_,
        [this]() -> net::awaitable<void> {
            net::steady_timer tick(ioc_);
            for (;;) {
                tick.expires_after(kQuietCheck);
                co_await tick.async_wait(kUseTuple);
                if (probe_.live_streams() > 0) {
                    break;
                }
                if (in_flight_ == 0 && SteadyClock::now() - last_activity_ >= grace_) {
                    ended_by_clients_ = true;
                    ioc_.stop();
                    break;
                }
            }
            waiting_for_quiet_ = false;
        },
        net::detached);
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
