#pragma once

// How a client under test caught up over REST, as `replay --report` tells it: for each request,
// its bounds, whether its page was full, whether it followed an earlier page's Link and whether
// a later one followed its own, and whether the stream was up; and for an item the client never
// got, which request would have returned it and what to do instead (mastodon-streaming.md
// section 10 for the paging rules). Beast-free.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "replay/report/client_log.hpp"

namespace mastotape::replay {

struct RequestReview {
    std::string path;
    std::optional<std::string> since_id, min_id, max_id;
    bool full = false;                   // as many items as the limit: there may be more
    std::optional<std::size_t> follows;  // the request whose Link it followed
    const char* rel = nullptr;           // "prev" or "next", when it follows one
    bool followed_prev = false;          // a later request followed its Link rel=prev
    bool followed_next = false;          // or its Link rel=next
    bool to_the_end = false;             // it, or the chain of Links from it, reached a short page
};

std::vector<RequestReview> review_requests(const std::vector<ClientLog::RestRequest>& requests);

// A missed item as the review sees it: the item, when the tape made it available (over REST, or
// on the stream) and when it happened (an item of a recorded gap: in the gap), and the endpoint
// that would have returned it.
struct MissedItem {
    Item item;
    std::int64_t available_at = 0;
    std::int64_t happened = 0;
    std::string endpoint;
};

// Why some of the missed items were missed: a short reason (for the verdict line), a sentence
// that says what happened and what to do, the request it is about (if one) and the items.
struct Finding {
    std::string reason;
    std::string advice;
    std::optional<std::size_t> request;
    std::vector<std::size_t> items;  // indexes into the missed items
};

// The findings that explain `missed`, each item in exactly one.
std::vector<Finding> explain(const ClientLog& log, const std::vector<RequestReview>& reviews,
                             const std::vector<MissedItem>& missed);

}  // namespace mastotape::replay
