#pragma once

// The recorder's reconnect schedule: exponential backoff with full jitter (AWS's "Exponential
// Backoff And Jitter"), capped, reproducible from a seed.

#include <cstdint>
#include <random>

namespace mastotape::record {

// The delay before reconnect attempt `attempt` (0-based): uniform in [0, min(cap, start * 2^n)).
double backoff_delay_s(double start_s, double cap_s, int attempt, double uniform01);

class Backoff {
   public:
    // `seed` 0: random jitter.
    Backoff(double start_s, double cap_s, std::uint64_t seed);

    // The delay before the next attempt; each call is one more failure in a row.
    double next_delay_s();
    // A connection proved itself: the next delay starts from `start_s` again.
    void reset() { failures_ = 0; }
    int failures() const { return failures_; }

   private:
    double start_s_;
    double cap_s_;
    int failures_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace mastotape::record
