#include "replay/streaming.hpp"

namespace mastotape::replay {

std::optional<std::string> Streaming::token_problem(const std::string& token) const {
    if (options.require_token.empty()) {
        return std::nullopt;
    }
    if (token.empty()) {
        return "Missing access token";
    }
    if (token != options.require_token) {
        return "Invalid access token";
    }
    return std::nullopt;
}

SteadyClock::duration Streaming::silence_after(const PlannedConnection& p) const {
    std::int64_t gap = 0;
    for (std::size_t k = 0; k + 1 < plan.connections.size(); ++k) {
        if (&plan.connections[k] == &p) {
            gap = plan.connections[k + 1].up_offset_ns - p.end_offset_ns;
        }
    }
    return clock.silence_for(gap);
}

}  // namespace mastotape::replay
