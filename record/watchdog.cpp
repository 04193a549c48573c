#include "record/watchdog.hpp"

#include <boost/asio/steady_timer.hpp>

namespace mastotape::record {

struct Watchdog::State {
    State(const boost::asio::any_io_executor& ex, Clock::duration t, std::function<void()> f)
        : timer(ex), timeout(t), on_silence(std::move(f)), last(Clock::now()) {}

    // Waits for the silence's end; a feed meanwhile only moves `last`, and the wait goes on from
    // there when the timer comes due (one timer operation per timeout, not per frame).
    static void arm(const std::shared_ptr<State>& self) {
        self->timer.expires_at(self->last + self->timeout);
        self->timer.async_wait([weak = std::weak_ptr<State>(self)](boost::system::error_code ec) {
            const auto s = weak.lock();
            if (ec || !s) {  // cancelled, or the watchdog has gone
                return;
            }
            if (Clock::now() - s->last >= s->timeout) {
                s->fired = true;
                s->on_silence();
                return;
            }
            arm(s);
        });
    }

    boost::asio::steady_timer timer;
    Clock::duration timeout;
    std::function<void()> on_silence;
    Clock::time_point last;
    bool fired = false;
};

Watchdog::Watchdog(const boost::asio::any_io_executor& ex, Clock::duration timeout,
                   std::function<void()> on_silence)
    : state_(std::make_shared<State>(ex, timeout, std::move(on_silence))) {
    State::arm(state_);
}

// The state goes with the watchdog (the timer's handler holds it weakly): a handler already queued
// finds nothing and does nothing.
Watchdog::~Watchdog() = default;

void Watchdog::feed() { state_->last = Clock::now(); }

bool Watchdog::fired() const { return state_->fired; }

}  // namespace mastotape::record
