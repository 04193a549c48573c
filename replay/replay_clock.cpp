#include "replay/replay_clock.hpp"

#include <algorithm>

namespace mastotape::replay {
namespace {

constexpr auto kLongestSilence = std::chrono::seconds(120);

// Nanoseconds from a scaled double, saturated: past every offset a tape may hold, far from where
// int64 and steady_clock arithmetic overflow, whatever the speed (a NaN counts as far).
std::int64_t saturate_ns(double ns) {
    constexpr double kLimit = 4e18;
    if (!(ns < kLimit)) {
        return static_cast<std::int64_t>(kLimit);
    }
    return static_cast<std::int64_t>(std::max(ns, -kLimit));
}

}  // namespace

ReplayClock::ReplayClock(ClockMode mode, double speed, bool shared, std::int64_t tape_start_ns,
                         TimeSource now)
    : mode_(mode),
      speed_(speed),
      shared_(shared),
      tape_start_ns_(tape_start_ns),
      source_(std::move(now)),
      started_(source_()),
      virtual_ns_(tape_start_ns) {}

TimePoint ReplayClock::now() const { return (paused_ ? paused_at_ : source_()) - paused_total_; }

TimePoint ReplayClock::real(TimePoint t) const {
    return paused_ ? TimePoint::max() : t + paused_total_;
}

void ReplayClock::pause() {
    if (!paused_) {
        paused_ = true;
        paused_at_ = source_();
    }
}

void ReplayClock::resume() {
    if (paused_) {
        paused_total_ += source_() - paused_at_;
        paused_ = false;
    }
}

void ReplayClock::move_to(std::int64_t ns) { virtual_ns_ = std::max(virtual_ns_, ns); }

std::int64_t ReplayClock::shared_tape_now() const {
    if (mode_ == ClockMode::virtual_clock) {
        return virtual_ns_;
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now() - started_);
    return tape_start_ns_ + saturate_ns(static_cast<double>(elapsed.count()) * speed_);
}

std::int64_t ReplayClock::tape_now(const ClientClock& c) const {
    if (one_timeline()) {
        return shared_tape_now();
    }
    if (!c.started) {
        return tape_start_ns_;
    }
    if (mode_ == ClockMode::max_speed) {
        return c.rest_at.value_or(c.offset);
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now() - c.at);
    const std::int64_t t = c.offset + saturate_ns(static_cast<double>(elapsed.count()) * speed_);
    return std::max(t, c.rest_at.value_or(t));
}

void ReplayClock::set(ClientClock& c, std::int64_t offset) const {
    c.offset = offset;
    c.at = now();
    c.started = true;
}

ConnectionClock ReplayClock::connection_at(std::int64_t start) const {
    if (shared_) {
        return {started_, tape_start_ns_};
    }
    return {now(), start};
}

TimePoint ReplayClock::due_at(const ConnectionClock& c, std::int64_t offset) const {
    return c.r0 + std::chrono::nanoseconds(saturate_ns(
                      (static_cast<double>(offset) - static_cast<double>(c.base)) / speed_));
}

ReplayClock::Due ReplayClock::due(const ConnectionClock& c, std::int64_t offset) const {
    if (paused_) {
        return {false, TimePoint::max()};
    }
    switch (mode_) {
        case ClockMode::max_speed:
            return {true, {}};
        case ClockMode::virtual_clock:
            return {virtual_ns_ >= offset, TimePoint::max()};
        case ClockMode::realtime: {
            const TimePoint at = due_at(c, offset);
            return {now() >= at, real(at)};
        }
    }
    return {true, {}};
}

SteadyClock::duration ReplayClock::scaled(std::int64_t ns) const {
    if (mode_ != ClockMode::realtime) {
        return SteadyClock::duration::zero();
    }
    return std::chrono::nanoseconds(
        saturate_ns(static_cast<double>(std::max<std::int64_t>(0, ns)) / speed_));
}

SteadyClock::duration ReplayClock::silence_for(std::int64_t gap_ns) const {
    if (mode_ == ClockMode::max_speed) {
        return max_speed_silence_;
    }
    return std::min<SteadyClock::duration>(scaled(gap_ns), kLongestSilence);
}

}  // namespace mastotape::replay
