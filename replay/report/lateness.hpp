#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace mastotape::replay {

// At a real-time clock: how late each frame went out against its time on the tape (handed to the
// socket), for /_mastotape/status and the benchmark: to the microsecond up to 10 ms, then to the
// millisecond up to 10 s (later counts as 10 s; the maximum is exact).
class Lateness {
   public:
    void add(std::chrono::nanoseconds late);
    std::uint64_t frames() const { return count_; }
    // The smallest whole µs (from 10 ms on, whole ms) at or under which a fraction `p` of the
    // frames went out; 0 when none did.
    std::int64_t percentile_us(double p) const;
    // {"frames":N,"p50_us":N,"p99_us":N,"max_us":N.N}
    nlohmann::ordered_json json() const;

   private:
    static constexpr std::int64_t kFineUs = 10'000;    // 1 µs steps below 10 ms
    static constexpr std::int64_t kCoarseMs = 10'000;  // 1 ms steps from 10 ms to 10 s

    std::array<std::uint64_t, kFineUs> fine_{};
    std::array<std::uint64_t, kCoarseMs + 1> coarse_{};  // indexed by ms; below 10 unused
    std::uint64_t count_ = 0;
    std::int64_t max_ns_ = 0;
};

// One client's lateness in a few numbers (the dashboard's): a full Lateness is too big to keep
// for each of a thousand clients.
struct LatenessSummary {
    std::uint64_t frames = 0;
    std::int64_t total_ns = 0;
    std::int64_t max_ns = 0;
    void add(std::chrono::nanoseconds late);
    // {"frames":N,"mean_us":N,"max_us":N}
    nlohmann::ordered_json json() const;
};

}  // namespace mastotape::replay
