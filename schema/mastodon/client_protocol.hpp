#pragma once

// The client side of the streaming protocol as the real server reads it: subscribe/unsubscribe
// messages, stream names and their parameters, SSE paths, tokens. No Beast here.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

struct ClientCommand {
    std::string type;  // subscribe, unsubscribe, or anything else (ignored by the server)
    Subscription subscription;
    bool valid_json = false;
};

// Parses a client text frame. `stream` may be a string or an array (first element used).
ClientCommand parse_client_message(std::string_view text);

// The real server's error frame for a subscription it refuses, or nullopt when it accepts it.
std::optional<std::string> subscribe_error(const Subscription& s);

// The stream an SSE path serves (section 1.2), from the path and its query; nullopt for an
// unknown path (the server answers 400 "Unknown channel requested").
std::optional<Subscription> sse_subscription(std::string_view path, std::string_view query);

// A request target split at its first '?': the path, and the query without it.
std::pair<std::string, std::string> split_target(std::string_view target);

// Value of `key` in a URL query (first occurrence, percent-decoded); nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view key);

// The subscription a recorded event's label names: `["hashtag","rust"]` is hashtag=rust, `["user"]`
// is user (a parameter written as a number is its text); nullopt for what is not such an array.
std::optional<Subscription> subscription_of_label(std::string_view label);

// Whether a recorded event labelled `label` (compact JSON array) is delivered to `s`.
bool label_matches(std::string_view label, const Subscription& s);

// The token a request carries, in the real server's order: `Authorization` (a leading "Bearer "
// removed), then `access_token`, then `Sec-WebSocket-Protocol`. Empty when none.
std::string request_token(std::string_view authorization, std::string_view query,
                          std::string_view subprotocol);

}  // namespace mastotape::schema
