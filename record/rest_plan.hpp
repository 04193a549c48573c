#pragma once

// What the recorder asks Mastodon's REST API, without the networking: which endpoints backfill
// which streams, which endpoint a streamed event belongs to, how to read Link headers. No Beast
// here.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/tape/model.hpp"

namespace mastotape::record {

// An endpoint and the query that selects the stream's items on it, e.g.
// /api/v1/timelines/public + local=true. `key()` names it in the newest-id table.
struct BackfillTarget {
    std::string endpoint;
    std::string query;
    std::string key() const { return query.empty() ? endpoint : endpoint + "?" + query; }
    bool operator==(const BackfillTarget&) const = default;
};

// The endpoints that recover what a set of subscriptions missed (mastodon-streaming.md section
// 10): user -> home and notifications, user:notification -> notifications, public* -> public,
// hashtag* -> tag, list -> list, direct -> conversations. No duplicates.
std::vector<BackfillTarget> backfill_targets(const std::vector<schema::Subscription>& subs);

// The target an event with stream label `label` (compact JSON) and name `event` is found at over
// REST; nullopt for events backfill cannot recover (deletes, announcements, ...).
std::optional<BackfillTarget> target_of_event(std::string_view label, std::string_view event);

// The URL of the Link header entry with rel="`rel`", if any.
std::optional<std::string> link_url(std::string_view link_header, std::string_view rel);

}  // namespace mastotape::record
