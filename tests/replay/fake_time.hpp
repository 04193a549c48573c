#pragma once

// A steady clock that moves only when a test says so, for ReplayClock.

#include <chrono>

#include "replay/replay_clock.hpp"

namespace mastotape::test {

struct FakeTime {
    replay::TimePoint now = replay::TimePoint{} + std::chrono::seconds(1000);
    replay::ReplayClock::TimeSource source() {
        return [this] { return now; };
    }
};

}  // namespace mastotape::test
