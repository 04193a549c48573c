#pragma once

// Instance discovery (mastodon-streaming.md section 9): where an instance's streaming server is.

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "schema/mastodon/url.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::record {

struct Transport;
class RequestCanceller;

struct Discovery {
    std::optional<schema::Url> streaming;  // the streaming origin; nullopt: the instance's own
    std::string note;                      // one line saying where it came from, for the log
    // The instance speaks TLS and the streaming URL it names does not: the token would go out
    // in cleartext.
    bool downgrade = false;
};

// Reads `instance`'s /api/v2/instance `configuration.urls.streaming`, then /api/v1/instance
// `urls.streaming_api`. The URL's scheme is that of `transport` (ws/wss or http/https); its
// target is left for the caller. Never fails: without an answer (or once `cancel` is cancelled)
// `streaming` is empty.
boost::asio::awaitable<Discovery> discover(Transport& t, schema::Url instance,
                                           schema::Transport transport, RequestCanceller& cancel);

// The streaming base URL in an instance document: v2 `configuration.urls.streaming` or v1
// `urls.streaming_api`.
std::optional<std::string> streaming_url_from_instance(std::string_view body);

}  // namespace mastotape::record
