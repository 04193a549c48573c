#pragma once

// Whether a client's REST request is answered, and the rate-limit headers Mastodon sends with
// every answer: 300 requests per token per 5 minutes, counted in windows (X-RateLimit-Limit,
// -Remaining, -Reset); with `replay --rate-limit N`, N, and Mastodon's 429 past it; and the
// rest-error=K:STATUS fault overlay's refusals (a 429 of which says the window is spent and starts
// over in a second). Beast-free.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "replay/admission.hpp"

namespace mastotape::replay {

struct RestAdmission {
    std::optional<int> refused;  // the status to answer instead of the page
    std::string refusal_body;
    std::vector<std::pair<std::string, std::string>> headers;  // X-RateLimit-*
};

// Counts the request in `client`'s window (unless a fault refuses it); `rate_limit` 0: Mastodon's.
RestAdmission admit_rest(ClientState& client, Admission& admission, std::int64_t rate_limit,
                         std::chrono::system_clock::time_point now);

}  // namespace mastotape::replay
