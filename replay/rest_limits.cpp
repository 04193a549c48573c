#include "replay/rest_limits.hpp"

#include <algorithm>

#include "schema/mastodon/iso_time.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::replay {
namespace {

// Mastodon's per-token REST window: 300 requests per 5 minutes.
constexpr std::int64_t kRestWindowRequests = 300;
constexpr auto kRestWindow = std::chrono::minutes(5);

// A rate-limit reset time as Mastodon writes it, to the whole second.
std::string iso_utc(std::chrono::system_clock::time_point t) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch());
    return schema::format_iso_us(std::chrono::nanoseconds(secs).count());
}

}  // namespace

RestAdmission admit_rest(ClientState& client, Admission& admission, std::int64_t rate_limit,
                         std::chrono::system_clock::time_point now) {
    RestAdmission a;
    if (const auto status = admission.rest_refusal()) {
        a.refused = *status;
        a.refusal_body = schema::error_json("refused by a fault overlay");
        if (*status == 429) {
            a.headers = {{"X-RateLimit-Limit", std::to_string(kRestWindowRequests)},
                         {"X-RateLimit-Remaining", "0"},
                         {"X-RateLimit-Reset", iso_utc(now + std::chrono::seconds(1))}};
        }
        return a;
    }
    if (now >= client.window_end) {
        client.window_end = now + kRestWindow;
        client.window_requests = 0;
    }
    ++client.window_requests;
    const std::int64_t limit = rate_limit > 0 ? rate_limit : kRestWindowRequests;
    if (rate_limit > 0 && client.window_requests > rate_limit) {
        a.refused = 429;
        a.refusal_body = R"({"error":"Too many requests"})";
    }
    a.headers = {{"X-RateLimit-Limit", std::to_string(limit)},
                 {"X-RateLimit-Remaining",
                  std::to_string(std::max<std::int64_t>(0, limit - client.window_requests))},
                 {"X-RateLimit-Reset", iso_utc(client.window_end)}};
    return a;
}

}  // namespace mastotape::replay
