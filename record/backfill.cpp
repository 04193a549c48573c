#include "record/backfill.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "record/coro.hpp"
#include "record/http_client.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/rest_endpoints.hpp"
#include "schema/text/json_array.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
// How often one page is asked again after a failure that may pass (429, 5xx, no answer).
constexpr int kRetries = 5;
// Items a page is asked for: Mastodon's most for a timeline.
constexpr std::int64_t kPage = 40;

// `target` asking for `limit` items: its limit parameter set, or added.
std::string with_limit(const std::string& target, std::int64_t limit) {
    const auto query = target.find('?');
    const std::string value = "limit=" + std::to_string(limit);
    if (query == std::string::npos) {
        return target + "?" + value;
    }
    for (auto at = query + 1; at < target.size();) {
        const auto end = std::min(target.find('&', at), target.size());
        if (target.compare(at, 6, "limit=") == 0) {
            return target.substr(0, at) + value + target.substr(end);
        }
        at = end + 1;
    }
    return target + "&" + value;
}

}  // namespace

// What one gap's backfill has gathered so far.
struct Backfill::Fetched {
    std::int64_t count = 0;
    std::string errors;  // "; "-separated, one per endpoint that failed
    bool cut_short = false;

    void fail(const std::string& endpoint, const std::string& why) {
        errors += (errors.empty() ? "" : "; ") + endpoint + ": " + why;
    }
};

Backfill::Backfill(Transport& t, const SessionClock& clock, net::any_io_executor rest,
                   BackfillSettings settings, ItemsHandler items, LogHandler log)
    : transport_(t),
      clock_(clock),
      rest_(std::move(rest)),
      settings_(std::move(settings)),
      items_(std::move(items)),
      log_(std::move(log)) {}

void Backfill::interrupt() {
    interrupted_ = true;
    net::post(rest_, [this] {
        for (auto* t : sleepers_) {
            t->cancel();
        }
    });
}

net::awaitable<schema::Gap> Backfill::run(schema::Gap gap,
                                          std::map<std::string, std::string> newest) {
    Fetched f;
    for (const auto& target : schema::rest_endpoints(settings_.subscriptions)) {
        const auto seen = newest.find(target.key());
        if (seen == newest.end()) {
            continue;  // nothing seen there yet: no place to start from
        }
        const std::string first = target.path + "?" +
                                  (target.query.empty() ? "" : target.query + "&") +
                                  "min_id=" + seen->second + "&limit=" + std::to_string(kPage);
        co_await fetch_endpoint(target.path, first, gap.idx, f);
    }
    gap.backfilled = f.count;
    gap.backfill_status = schema::BackfillStatus::ok;
    if (f.cut_short && f.errors.empty()) {
        f.errors = "the recording stopped before the backfill finished";
    }
    if (!f.errors.empty()) {
        gap.backfill_status =
            f.count > 0 ? schema::BackfillStatus::partial : schema::BackfillStatus::failed;
        gap.backfill_error = f.errors;
    }
    co_return gap;
}

// Pages through one endpoint from `first_target` (path and query) until a page is empty, the
// endpoint's limit is reached or a request fails. Each endpoint has the whole limit: a busy home
// timeline does not leave the notifications unfetched. A page asks for no more items than the
// limit has left, so what is kept runs on from the gap's start (a page comes newest first), and
// once the limit is reached one item more is asked for: a limit that left items behind is said.
net::awaitable<void> Backfill::fetch_endpoint(const std::string& endpoint,
                                              const std::string& first_target, std::int64_t gap,
                                              Fetched& f) {
    schema::Url page = settings_.rest_origin;
    page.target = first_target;
    int retries = 0;  // of the page under way
    std::int64_t here = 0;
    bool more = false;  // the limit stopped paging with items left
    for (;;) {
        const bool probe = here >= settings_.limit;  // asking whether anything is left
        page.target = with_limit(page.target, probe ? 1 : std::min(kPage, settings_.limit - here));
        if (interrupted_) {
            f.cut_short = true;
            co_return;
        }
        const HttpResult r = co_await http_get(transport_, page, settings_.token);
        const bool transient = !r.error.empty() || r.status == 429 || r.status >= 500;
        if (transient && retries < kRetries) {
            // Rate-limited: until the window's reset. The server's trouble (a 502 or 503 while
            // it restarts, which is when streams drop) or no answer: 0.5, 1, 2, 4, 8 s.
            const double wait = r.status == 429 && !r.rate_reset.empty()
                                    ? seconds_until(r.rate_reset)
                                    : settings_.retry_start_s * static_cast<double>(1 << retries);
            ++retries;
            const std::string why = !r.error.empty()  ? r.error
                                    : r.status == 429 ? std::string("rate-limited (429)")
                                                      : "HTTP " + std::to_string(r.status);
            std::string line = "backfill " + endpoint;
            line += ": " + why + "; trying again in ";
            line += std::to_string(static_cast<int>(std::ceil(wait))) + " s (";
            line += std::to_string(retries) + " of " + std::to_string(kRetries) + ")";
            log_(line);
            co_await sleep_s(wait);
            continue;
        }
        if (!r.error.empty()) {
            f.fail(endpoint, r.error);
            co_return;
        }
        if (r.status != 200) {
            f.fail(endpoint, "HTTP " + std::to_string(r.status));
            co_return;
        }
        retries = 0;
        const auto elements = schema::split_json_array(r.body);
        if (!elements) {
            f.fail(endpoint, "the response is not a JSON array");
            co_return;
        }
        if (elements->empty()) {
            co_return;
        }
        if (probe) {
            more = true;
            break;
        }
        const std::string query =
            schema::without_access_token(page.target.substr(page.target.find('?') + 1));
        std::vector<schema::BackfillItem> items;
        for (const auto element : *elements) {
            if (here >= settings_.limit) {
                break;  // a server that sent more than asked for
            }
            schema::BackfillItem item;
            item.gap_idx = gap;
            item.offset_ns = clock_.offset_now();
            item.wall_ns = clock_.wall(item.offset_ns);
            item.endpoint = endpoint;
            item.query = query;
            item.http_status = r.status;
            item.object_id = schema::entity_id(element).value_or("");
            item.body = std::string(element);
            items.push_back(std::move(item));
            ++here;
            ++f.count;
        }
        items_(std::move(items));
        const auto prev = schema::link_url(r.link, "prev");
        const auto next_page = prev ? schema::parse_url(*prev) : std::nullopt;
        if (!next_page) {
            break;
        }
        page.target = next_page->target;
        if (r.rate_remaining == "0") {
            co_await sleep_s(seconds_until(r.rate_reset));
        }
    }
    if (more) {
        f.fail(endpoint, std::string(kStoppedAtLimit) + " (" + std::to_string(settings_.limit) +
                             " items) with pages left");
    }
}

// Seconds until an X-RateLimit-Reset time (ISO 8601 UTC), bounded by the cap.
double Backfill::seconds_until(const std::string& iso) const {
    const auto secs = schema::parse_iso_seconds(iso);
    if (!secs) {
        return 5;
    }
    const auto reset = std::chrono::system_clock::time_point(std::chrono::seconds(*secs));
    const double s =
        std::chrono::duration<double>(reset - std::chrono::system_clock::now()).count();
    return std::clamp(s, 0.0, settings_.rate_limit_wait_cap_s);
}

// Sleeps, or less when the recording is interrupted.
net::awaitable<void> Backfill::sleep_s(double seconds) {
    if (interrupted_) {
        co_return;
    }
    net::steady_timer t(co_await net::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000)));
    sleepers_.insert(&t);
    co_await t.async_wait(kUseTuple);
    sleepers_.erase(&t);
}

}  // namespace mastotape::record
