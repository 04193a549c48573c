#include "record/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace mastotape::record {

double backoff_delay_s(double start_s, double cap_s, int attempt, double uniform01) {
    const double ceiling = std::min(cap_s, start_s * std::pow(2.0, std::min(attempt, 30)));
    return ceiling * uniform01;
}

Backoff::Backoff(double start_s, double cap_s, std::uint64_t seed)
    : start_s_(start_s), cap_s_(cap_s), rng_(seed != 0 ? seed : std::random_device{}()) {}

double Backoff::next_delay_s() {
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
    return backoff_delay_s(start_s_, cap_s_, failures_++, u);
}

}  // namespace mastotape::record
