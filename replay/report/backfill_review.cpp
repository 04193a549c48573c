#include "replay/report/backfill_review.hpp"

#include <map>
#include <tuple>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/text/json_array.hpp"

namespace mastotape::replay {
namespace {

using Requests = std::vector<ClientLog::RestRequest>;

// "`/api/v1/timelines/home?since_id=5&limit=20`"
std::string quoted(const ClientLog::RestRequest& q) { return "`" + q.target + "`"; }

std::string items_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " item" : " items"); }

const char* were(std::size_t n) { return n == 1 ? " was" : " were"; }

// One reason an item was missed, before the items are counted: what the finding says and which
// request it is about. Items with the same key share a finding.
struct Cause {
    Cause(std::string r, std::optional<std::size_t> q, int k, std::string e = "")
        : reason(std::move(r)), request(q), kind(k), endpoint(std::move(e)) {}
    std::string reason;
    std::optional<std::size_t> request;
    int kind;
    std::string endpoint;  // never asked: which endpoint to ask
    bool operator<(const Cause& o) const {
        return std::tie(kind, request, endpoint, reason) <
               std::tie(o.kind, o.request, o.endpoint, o.reason);
    }
};

enum Kind {
    since_page_full = 1,
    min_page_full,
    next_not_followed,
    before_stream_back,
    after_last_request,
    never_asked,
    outside_bounds,
    delete_missed,
    edit_missed,
    announcement_missed,
};

// Why `m` was missed.
Cause cause_of(const ClientLog& log, const std::vector<RequestReview>& reviews,
               const MissedItem& m) {
    const auto& [event, id] = m.item;
    if (event == "delete") {
        return {"a delete comes only on the stream", std::nullopt, delete_missed};
    }
    if (event == "status.update") {
        return {"an edit came while away", std::nullopt, edit_missed};
    }
    if (event.rfind("announcement", 0) == 0) {  // announcement, .reaction, .delete
        return {"announcements are in no timeline", std::nullopt, announcement_missed};
    }
    const Requests& reqs = log.rest_requests();
    std::optional<std::size_t> last_before;
    bool asked_after = false;
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        if (reqs[i].event != event) {
            continue;
        }
        if (reqs[i].tape_now < m.available_at) {
            last_before = i;
            continue;
        }
        asked_after = true;
        const RequestReview& r = reviews[i];
        const auto& lower = r.min_id ? r.min_id : r.since_id;
        if (!r.full || (r.max_id && schema::compare_ids(id, *r.max_id) >= 0) ||
            (lower && schema::compare_ids(id, *lower) <= 0)) {
            continue;  // asked for other items, or had them all
        }
        // Past the page, on the side a Link would have gone on to, and that Link not taken.
        if (r.min_id && !r.followed_prev && schema::compare_ids(id, reqs[i].newest) > 0) {
            return {"min_id page full, Link rel=prev not followed", i, min_page_full};
        }
        if (!r.min_id && !r.followed_next && schema::compare_ids(id, reqs[i].oldest) < 0) {
            return r.since_id
                       ? Cause{"since_id page full", i, since_page_full}
                       : Cause{"page full, Link rel=next not followed", i, next_not_followed};
        }
    }
    if (asked_after) {
        return {"in no page asked for", std::nullopt, outside_bounds};
    }
    if (!last_before) {
        return {"never asked over REST", std::nullopt, never_asked, m.endpoint};
    }
    // Asked while away, and the item happened before the stream was back: in neither.
    const auto& q = reqs[*last_before];
    const auto& conns = log.connections();
    if (!q.stream_up && q.connections_before < conns.size() &&
        m.happened <= conns[q.connections_before].tape_start) {
        return {"caught up before the stream was back", last_before, before_stream_back};
    }
    return {"came after the last REST request", last_before, after_last_request};
}

std::string advice(const Cause& c, const ClientLog& log, const std::vector<RequestReview>& reviews,
                   const std::vector<std::size_t>& items) {
    const std::string n = items_text(items.size());
    const Requests& reqs = log.rest_requests();
    // (The causes about a request have one; the others read neither.)
    static const ClientLog::RestRequest kNoRequest{};
    static const RequestReview kNoReview{};
    const ClientLog::RestRequest& q = c.request ? reqs[*c.request] : kNoRequest;
    const RequestReview& r = c.request ? reviews[*c.request] : kNoReview;
    switch (c.kind) {
        case since_page_full:
            return "the client asked " + quoted(q) + " and got a full page of " +
                   std::to_string(q.items) + "; " + n + " newer than " + *r.since_id +
                   " but older than the page" + were(items.size()) +
                   " never asked for: use min_id and follow "
                   "Link rel=\"prev\" until a page comes back short";
        case min_page_full:
            return "the client asked " + quoted(q) + " and got a full page of " +
                   std::to_string(q.items) + " but did not follow its Link rel=\"prev\" to " +
                   "the end; " + n + " newer than the page" + were(items.size()) +
                   " never asked for";
        case next_not_followed:
            return "the client asked " + quoted(q) + " and got a full page of " +
                   std::to_string(q.items) + " but did not follow its Link rel=\"next\"; " + n +
                   " older than the page" + were(items.size()) + " never asked for";
        case before_stream_back:
            return "the client asked " + quoted(q) + " while away, before connection " +
                   std::to_string(q.connections_before + 1) + " began; " + n +
                   " came between that request and the stream's return, in neither: " +
                   "catch up once the stream is back (or ask again then)";
        case after_last_request:
            return n + " came after the client's last request for them (" + quoted(q) +
                   ") while it was not streaming";
        case never_asked:
            return n + " the stream did not bring" + were(items.size()) +
                   " never asked for over REST: after " + "reconnecting, ask " +
                   (c.endpoint.empty() ? "the timeline" : c.endpoint) +
                   " with min_id set to the newest id the client had, and follow Link " +
                   "rel=\"prev\" until a page comes back short";
        case outside_bounds:
            return n + were(items.size()) +
                   " in no page the client asked for: the bounds of its requests " +
                   "passed them by";
        case delete_missed:
            return n + " (deletes) came while the client was away: REST never shows a deleted " +
                   "status, so a client that holds one must re-check it after reconnecting";
        case announcement_missed:
            return n + " (announcements, their reactions and removals) came while the client " +
                   "was away: no timeline holds them; after reconnecting, ask " +
                   "/api/v1/announcements";
        default:
            return n + " (edits) came while the client was away and it never fetched the " +
                   "statuses again after them";
    }
}

}  // namespace

std::vector<RequestReview> review_requests(const Requests& requests) {
    std::vector<RequestReview> out(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& q = requests[i];
        RequestReview& r = out[i];
        std::string query;
        std::tie(r.path, query) = schema::split_target(q.target);
        r.since_id = schema::query_param(query, "since_id");
        r.min_id = schema::query_param(query, "min_id");
        r.max_id = schema::query_param(query, "max_id");
        r.full = q.items > 0 && q.items >= q.limit;
        // The newest earlier page of the same endpoint whose Link it took.
        for (std::size_t j = i; j-- > 0;) {
            if (out[j].path != r.path || requests[j].items == 0) {
                continue;
            }
            if (r.max_id && *r.max_id == requests[j].oldest) {
                r.rel = "next";
                out[j].followed_next = true;
            } else if (r.min_id && *r.min_id == requests[j].newest) {
                r.rel = "prev";
                out[j].followed_prev = true;
            } else {
                continue;
            }
            r.follows = j;
            break;
        }
    }
    // A chain of Links reaches the end where a page comes back short.
    for (std::size_t i = out.size(); i-- > 0;) {
        out[i].to_the_end = out[i].to_the_end || !out[i].full;
        if (out[i].to_the_end && out[i].follows) {
            out[*out[i].follows].to_the_end = true;
        }
    }
    return out;
}

std::vector<Finding> explain(const ClientLog& log, const std::vector<RequestReview>& reviews,
                             const std::vector<MissedItem>& missed) {
    std::map<Cause, std::vector<std::size_t>> by_cause;
    for (std::size_t i = 0; i < missed.size(); ++i) {
        by_cause[cause_of(log, reviews, missed[i])].push_back(i);
    }
    std::vector<Finding> out;
    out.reserve(by_cause.size());
    for (auto& [cause, items] : by_cause) {
        out.push_back(
            {cause.reason, advice(cause, log, reviews, items), cause.request, std::move(items)});
    }
    return out;
}

}  // namespace mastotape::replay
