#include "replay/faults.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "schema/tape/tape_verifier.hpp"

namespace mastotape::replay {
namespace {

// Counts and rates past this are not meant (and would overflow once scaled).
constexpr double kMaxCount = 1e15;

double bounded_number(std::string_view text, const char* what, double max = kMaxCount) {
    std::size_t used = 0;
    const std::string s(text);
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v) || v < 0 || v > max) {
        throw std::invalid_argument(std::string(what) + " must be a number from 0 to " +
                                    std::to_string(static_cast<long long>(max)));
    }
    return v;
}

// Seconds of tape time, no later than a tape can hold.
std::int64_t seconds_ns(std::string_view text, const char* what) {
    constexpr double kMaxSeconds = static_cast<double>(schema::kMaxOffsetNs) / 1e9;
    return static_cast<std::int64_t>(bounded_number(text, what, kMaxSeconds) * 1e9);
}

}  // namespace

std::string Fault::describe() const {
    switch (kind) {
        case FaultKind::drop_after:
            return "drop-after=" + std::to_string(n);
        case FaultKind::close_at:
            return "close-at=" + std::to_string(static_cast<double>(at_ns) / 1e9) + ":" +
                   std::to_string(code);
        case FaultKind::stall:
            return "stall=" + std::to_string(static_cast<double>(at_ns) / 1e9) + ":" +
                   std::to_string(static_cast<double>(duration_ns) / 1e9);
        case FaultKind::refuse:
            return "refuse=" + std::to_string(n) + ":" + std::to_string(code);
        case FaultKind::rest_error:
            return "rest-error=" + std::to_string(n) + ":" + std::to_string(code);
        case FaultKind::malformed_at:
            return "malformed-at=" + std::to_string(n);
        case FaultKind::oversize_at:
            return "oversize-at=" + std::to_string(n);
        case FaultKind::slow:
            return "slow=" + std::to_string(bytes_per_s);
    }
    return "";
}

void Refusals::add(std::int64_t count, int status) { queue_.emplace_back(count, status); }

std::optional<int> Refusals::take() {
    if (queue_.empty()) {
        return std::nullopt;
    }
    const int status = queue_.front().second;
    if (--queue_.front().first == 0) {
        queue_.pop_front();
    }
    return status;
}

std::int64_t Refusals::remaining() const {
    std::int64_t n = 0;
    for (const auto& [count, status] : queue_) {
        n += count;
    }
    return n;
}

std::optional<Fault> parse_fault(std::string_view spec, std::string& error) {
    const auto eq = spec.find('=');
    if (eq == std::string_view::npos) {
        error = "fault \"" + std::string(spec) + "\" needs NAME=VALUE (e.g. drop-after=10)";
        return std::nullopt;
    }
    const std::string_view name = spec.substr(0, eq);
    const std::string_view value = spec.substr(eq + 1);
    const auto colon = value.find(':');
    Fault f;
    try {
        if (name == "drop-after" || name == "malformed-at" || name == "oversize-at") {
            f.kind = name == "drop-after"     ? FaultKind::drop_after
                     : name == "malformed-at" ? FaultKind::malformed_at
                                              : FaultKind::oversize_at;
            f.n = static_cast<std::int64_t>(bounded_number(value, "N"));
            if (f.n < 1) {
                throw std::invalid_argument("N must be at least 1");
            }
        } else if (name == "refuse" || name == "rest-error") {
            f.kind = name == "refuse" ? FaultKind::refuse : FaultKind::rest_error;
            f.n = static_cast<std::int64_t>(bounded_number(value.substr(0, colon), "K"));
            if (f.n < 1) {
                throw std::invalid_argument("K must be at least 1");
            }
            f.code = 503;
            if (colon != std::string_view::npos) {
                f.code =
                    static_cast<std::int64_t>(bounded_number(value.substr(colon + 1), "STATUS"));
                if (f.code < 400 || f.code > 599) {
                    throw std::invalid_argument("STATUS must be an HTTP error status (400-599)");
                }
            }
        } else if (name == "close-at" || name == "stall") {
            if (colon == std::string_view::npos) {
                throw std::invalid_argument(name == "stall" ? "use stall=T:DURATION (seconds)"
                                                            : "use close-at=T:CODE");
            }
            f.kind = name == "stall" ? FaultKind::stall : FaultKind::close_at;
            f.at_ns = seconds_ns(value.substr(0, colon), "T");
            if (f.kind == FaultKind::stall) {
                f.duration_ns = seconds_ns(value.substr(colon + 1), "DURATION");
            } else {
                f.code = static_cast<std::int64_t>(bounded_number(value.substr(colon + 1), "CODE"));
                if (f.code < 1000 || f.code > 4999 || f.code == 1005 || f.code == 1006) {
                    throw std::invalid_argument(
                        "CODE must be a close code that can be sent (1000-4999, not 1005/1006)");
                }
            }
        } else if (name == "slow") {
            f.kind = FaultKind::slow;
            f.bytes_per_s = static_cast<std::int64_t>(bounded_number(value, "BYTES_PER_S"));
            if (f.bytes_per_s < 1) {
                throw std::invalid_argument("BYTES_PER_S must be at least 1");
            }
        } else {
            std::string known;
            for (const auto n : kFaultNames) {
                known += (known.empty() ? "" : ", ") + std::string(n);
            }
            error = "unknown fault \"" + std::string(name) + "\" (" + known + ")";
            return std::nullopt;
        }
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        error = "fault \"" + std::string(spec) + "\": " + (what == "stod" ? "not a number" : what);
        return std::nullopt;
    } catch (const std::out_of_range&) {
        error = "fault \"" + std::string(spec) + "\": number out of range";
        return std::nullopt;
    }
    return f;
}

}  // namespace mastotape::replay
