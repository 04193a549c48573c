#pragma once

// Fetches what a gap missed over REST (mastodon-streaming.md section 10), on the REST thread, so
// that a page's parse or a TLS handshake never delays the stamping of a frame on the network
// thread. For each endpoint of the subscriptions it pages from the newest id the stream had
// delivered before the gap (min_id), following rel="prev" until a page is empty or the limit is
// reached, honouring 429 and X-RateLimit-Remaining. Never fatal: a failure, or a limit that left
// items behind, is recorded on the gap (`partial`, naming the endpoint).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "record/session_clock.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::record {

struct Transport;

// What a gap's backfill_error says when the limit left items behind.
inline constexpr std::string_view kStoppedAtLimit = "stopped at --backfill-limit";

struct BackfillSettings {
    std::vector<schema::Subscription> subscriptions;
    schema::Url rest_origin;             // where the REST requests go
    std::string token;                   // sent as Authorization: Bearer
    std::int64_t limit = 400;            // items per endpoint, each gap
    double rate_limit_wait_cap_s = 300;  // longest wait for a rate-limit reset
    // The first wait before a page is asked again after a 5xx or no answer (then doubled).
    double retry_start_s = 0.5;
};

class Backfill {
   public:
    // Called on the REST thread: with each page's items (numbered and marked by the caller), and
    // with a line for the log.
    using ItemsHandler = std::function<void(std::vector<schema::BackfillItem>)>;
    using LogHandler = std::function<void(std::string)>;

    // `t`, `clock` and `rest` (the REST thread's executor) must outlive the object.
    Backfill(Transport& t, const SessionClock& clock, boost::asio::any_io_executor rest,
             BackfillSettings settings, ItemsHandler items, LogHandler log);

    // Fetches gap `gap`'s items from `newest` (backfill target key -> newest id streamed before
    // the gap) on; returns the gap with its status, error and count. Runs on the REST thread.
    boost::asio::awaitable<schema::Gap> run(schema::Gap gap,
                                            std::map<std::string, std::string> newest);

    // Thread-safe: cuts waits short and ends every run at its next step (a Ctrl-C).
    void interrupt();
    bool interrupted() const { return interrupted_; }

   private:
    struct Fetched;
    boost::asio::awaitable<void> fetch_endpoint(const std::string& endpoint,
                                                const std::string& first_target, std::int64_t gap,
                                                Fetched& f);
    boost::asio::awaitable<void> sleep_s(double seconds);
    double seconds_until(const std::string& iso) const;

    Transport& transport_;
    const SessionClock& clock_;
    boost::asio::any_io_executor rest_;
    BackfillSettings settings_;
    ItemsHandler items_;
    LogHandler log_;
    std::atomic<bool> interrupted_ = false;
    std::set<boost::asio::steady_timer*> sleepers_;  // timers of waits under way (REST thread only)
};

}  // namespace mastotape::record
