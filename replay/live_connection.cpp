#include "replay/live_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "replay/coro.hpp"
#include "schema/mastodon/client_protocol.hpp"

namespace mastotape::replay {
namespace {

namespace net = boost::asio;
// The subscription gate's graces (see awaited_labels).
constexpr auto kAfterFirstSubscribe = std::chrono::seconds(1);
constexpr auto kWithoutSubscription = std::chrono::seconds(5);

}  // namespace

bool LiveConnection::subscribed(const std::string& label) {
    auto it = matched_labels_.find(label);
    if (it == matched_labels_.end()) {
        const bool match =
            std::any_of(subscriptions.begin(), subscriptions.end(),
                        [&](const auto& s) { return schema::label_matches(label, s); });
        it = matched_labels_.emplace(label, match).first;
    }
    return it->second;
}

void LiveConnection::subscriptions_changed(const std::vector<schema::Subscription>& before) {
    for (const auto& s : before) {
        const bool kept =
            std::find(subscriptions.begin(), subscriptions.end(), s) != subscriptions.end();
        if (!kept && std::find(dropped_.begin(), dropped_.end(), s) == dropped_.end()) {
            dropped_.push_back(s);
        }
    }
    matched_labels_.clear();
    wake.cancel();
}

std::vector<schema::Subscription> LiveConnection::ever_subscribed() const {
    std::vector<schema::Subscription> out = dropped_;
    for (const auto& s : subscriptions) {
        if (std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
    }
    return out;
}

std::optional<TimePoint> LiveConnection::held_until(TimePoint now) {
    if (client_texts < needed_texts && now < client_deadline) {
        return client_deadline;
    }
    if (awaited_labels.empty()) {
        return std::nullopt;
    }
    if (!subscriptions.empty() && !first_subscribed_at) {
        first_subscribed_at = now;
    }
    const bool all = std::all_of(awaited_labels.begin(), awaited_labels.end(),
                                 [&](const std::string& label) { return subscribed(label); });
    const TimePoint until = first_subscribed_at ? *first_subscribed_at + kAfterFirstSubscribe
                                                : opened_at + kWithoutSubscription;
    if (all || now >= until) {
        awaited_labels.clear();  // open for good
        return std::nullopt;
    }
    return until;
}

net::awaitable<void> LiveConnection::wait_closed() {
    while (!closed) {
        wake.expires_at(TimePoint::max());
        co_await wake.async_wait(kUseTuple);
    }
}

net::awaitable<bool> wait_due(const ReplayClock& clock, LiveConnection& c, std::int64_t offset) {
    for (;;) {
        if (c.closed || !c.pending.empty() || c.close_1003) {
            co_return false;
        }
        if (const auto held = c.held_until(SteadyClock::now())) {
            c.wake.expires_at(*held);
            co_await c.wake.async_wait(kUseTuple);
            continue;
        }
        const ReplayClock::Due due = clock.due(c.clock, offset);
        if (due.now) {
            co_return true;
        }
        c.wake.expires_at(due.wake);
        co_await c.wake.async_wait(kUseTuple);
    }
}

}  // namespace mastotape::replay
