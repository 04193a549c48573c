#include "replay/report/lateness.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

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

nlohmann::ordered_json Lateness::json() const {
    return {{"frames", count_},
            {"p50_us", percentile_us(0.50)},
            {"p99_us", percentile_us(0.99)},
            {"max_us", std::round(static_cast<double>(max_ns_) / 100.0) / 10.0}};
}

void LatenessSummary::add(std::chrono::nanoseconds late) {
    const std::int64_t ns = std::max<std::int64_t>(late.count(), 0);
    ++frames;
    total_ns += ns;
    max_ns = std::max(max_ns, ns);
}

nlohmann::ordered_json LatenessSummary::json() const {
    const std::int64_t mean = frames == 0 ? 0 : total_ns / static_cast<std::int64_t>(frames);
    return {{"frames", frames}, {"mean_us", mean / 1000}, {"max_us", max_ns / 1000}};
}

}  // namespace mastotape::replay
