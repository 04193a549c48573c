#pragma once

// Mastodon's streams, written once (mastodon-streaming.md sections 1.2, 3, 6 and 10): each
// stream's name, the parameter it takes, its SSE path, the REST timeline that backfills its
// statuses (with the query flags that pick them there), and the events it carries. Everything
// that needs to know a stream (the recorder's requests and backfill, the replayer's subscriptions,
// SSE routes and REST timelines, synth, the CLI) asks this table.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

// The parameter a stream requires, and the query key (and subscribe-message key) it travels in.
enum class StreamParam { none, tag, list };

struct StreamInfo {
    std::string_view name;  // e.g. "public:local:media"
    StreamParam param = StreamParam::none;
    std::string_view sse_path;  // e.g. "/api/v1/streaming/public/local"
    bool media = false;         // `:media`: only_media=true on the SSE path and the timeline
    // The REST timeline with this stream's statuses: a full path, or a prefix the parameter
    // completes ("/api/v1/timelines/tag/"); empty when its statuses have none.
    std::string_view status_timeline;
    std::string_view timeline_flags;           // e.g. "local=true&only_media=true"
    bool notifications = false;                // its notifications are on /api/v1/notifications
    bool conversations = false;                // its conversations are on /api/v1/conversations
    std::span<const std::string_view> events;  // what it carries (section 6)
};

// Every stream, in the order of section 3.
std::span<const StreamInfo> all_streams();
// The stream named `name`; nullptr for a name the server does not know.
const StreamInfo* find_stream(std::string_view name);

// "tag", "list", or "" for a stream without a parameter.
std::string_view param_key(StreamParam p);

// The events a stream delivers (section 6); empty for an unknown stream.
std::vector<std::string> events_of_stream(std::string_view stream);
// Whether stream `stream` carries event `event`.
bool stream_carries(std::string_view stream, std::string_view event);

// The query flags that pick a stream's statuses on a timeline it shares with other streams:
// public:local -> local=true, public:remote:media -> remote=true&only_media=true,
// hashtag:local -> local=true; empty for every other stream.
std::string timeline_flags(const Subscription& s);
// The REST path of a subscription's status timeline (its parameter filled in); empty for none.
std::string status_timeline(const Subscription& s);

// The WebSocket query that selects one stream: "stream=hashtag&tag=foo".
std::string websocket_query(const Subscription& s);
// The SSE path and query of a subscription: "/api/v1/streaming/public/local?only_media=true".
std::string sse_target(const Subscription& s);
// The subscribe message a client sends for `s`: {"type":"subscribe","stream":"list","list":"1"}.
std::string subscribe_message(const Subscription& s);
// The subscription an SSE path serves, from the path and its query; nullopt for an unknown path.
// `only_media` is truthy by Mastodon's rule (see query_truthy).
std::optional<Subscription> subscription_of_sse_path(std::string_view path,
                                                     std::optional<std::string_view> only_media,
                                                     std::optional<std::string_view> tag,
                                                     std::optional<std::string_view> list);

// Mastodon's truthiness of a query flag: present and none of false, 0, f, F, FALSE, off, OFF.
bool query_truthy(std::optional<std::string_view> value);

}  // namespace mastotape::schema
