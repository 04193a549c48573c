#include "replay/report/lateness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mastotape::replay {

void Lateness::add(std::chrono::nanoseconds late) {
    const std::int64_t ns = std::max<std::int64_t>(0, late.count());
    if (ns < kFineUs * 1000) {
        ++fine_[static_cast<std::size_t>(ns / 1000)];
    } else {
        ++coarse_[static_cast<std::size_t>(std::min<std::int64_t>(ns / 1'000'000, kCoarseMs))];
    }
    ++count_;
    max_ns_ = std::max(max_ns_, ns);
}

std::int64_t Lateness::percentile_us(double p) const {
    const auto want = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(count_)));
    if (want == 0) {
        return 0;
    }
    std::uint64_t seen = 0;
    for (std::size_t us = 0; us < fine_.size(); ++us) {
        seen += fine_[us];
        if (seen >= want) {
            return static_cast<std::int64_t>(us);
        }
    }
    for (std::size_t ms = kFineUs / 1000; ms < coarse_.size(); ++ms) {
        seen += coarse_[ms];
        if (seen >= want) {
            return static_cast<std::int64_t>(ms) * 1000;
        }
    }
    return 0;
}

std::string Lateness::json() const {
    char out[160];
    std::snprintf(
        out, sizeof out, R"({"frames":%llu,"p50_us":%lld,"p99_us":%lld,"max_us":%.1f})",
        static_cast<unsigned long long>(count_), static_cast<long long>(percentile_us(0.50)),
        static_cast<long long>(percentile_us(0.99)), static_cast<double>(max_ns_) / 1000.0);
    return out;
}

void LatenessSummary::add(std::chrono::nanoseconds late) {
    const std::int64_t ns = std::max<std::int64_t>(late.count(), 0);
    ++frames;
    total_ns += ns;
    max_ns = std::max(max_ns, ns);
}

std::string LatenessSummary::json() const {
    const std::int64_t mean = frames == 0 ? 0 : total_ns / static_cast<std::int64_t>(frames);
    return "{\"frames\":" + std::to_string(frames) + ",\"mean_us\":" + std::to_string(mean / 1000) +
           ",\"max_us\":" + std::to_string(max_ns / 1000) + "}";
}

}  // namespace mastotape::replay
