#pragma once

// Mastodon's REST lists that hold what streams carry (mastodon-streaming.md section 10), written
// once: which lists hold a stream's items, which list an event's item is found on, what a GET of
// a list serves (for the replayer's REST routes and HAR import), and its Link header. The
// recorder's backfill, the replayer's verdict and REST timelines, synth and HAR import all ask
// here. No networking.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

// A list and the query that selects one stream's items on it, e.g. /api/v1/timelines/public +
// local=true. `event` is the streamed event that brings one of its items: "update",
// "notification" or "conversation". `key()` names it in the recorder's newest-id table.
struct RestEndpoint {
    std::string path;
    std::string query;
    std::string_view event;
    std::string key() const { return query.empty() ? path : path + "?" + query; }
    bool operator==(const RestEndpoint&) const = default;
};

// The lists that hold a subscription's items: user -> home and notifications, user:notification
// -> notifications, public* -> public, hashtag* -> tag, list -> list, direct -> conversations.
std::vector<RestEndpoint> rest_endpoints(const Subscription& s);
// The lists that recover what a set of subscriptions missed, without duplicates.
std::vector<RestEndpoint> rest_endpoints(const std::vector<Subscription>& subs);

// The list of `s` where an `event` item is found: an update on the status timeline, a
// notification or conversation only on a stream that carries them; nullopt for events no list
// holds (deletes, edits, announcements, ...).
std::optional<RestEndpoint> endpoint_of(const Subscription& s, std::string_view event);
// The same for a recorded stream label (compact JSON, see subscription_of_label).
std::optional<RestEndpoint> endpoint_of_label(std::string_view label, std::string_view event);

// What a GET of a list serves, the reverse of the above: the event that brings its items, the
// streams whose items they are (the status timeline's query picks among the streams sharing it),
// its page size without `limit=` and the query parameters its Link headers keep.
struct ListedItems {
    std::string_view event;
    std::vector<Subscription> sources;
    std::int64_t default_limit = 20;
    std::vector<std::string_view> link_params;
};
// nullopt for a path that is none of the lists above.
std::optional<ListedItems> listed_items(std::string_view path, std::string_view query);

// The URL of the Link header entry with rel="`rel`", if any.
std::optional<std::string> link_url(std::string_view link_header, std::string_view rel);

}  // namespace mastotape::schema
