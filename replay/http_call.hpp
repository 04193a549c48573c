#pragma once

// A client's plain HTTP request as the replayer's REST rooms see it (the bot routes, stubs,
// expectations): no Beast here.

#include <cstdint>
#include <optional>
#include <string>

namespace mastotape::replay {

struct HttpCall {
    std::string method;  // GET, POST, DELETE...
    std::string path;
    std::string query;
    std::string body;
    std::string content_type;
    std::string idempotency_key;  // the Idempotency-Key header
    std::int64_t tape_now = 0;    // the client's replay clock
    std::string base;             // http://host:port of the replayer, for the URLs of what is made
};

// A parameter as Mastodon reads it: from a JSON body, a form body, or else the query; a JSON
// value that is not a string as its JSON text. nullopt when the request has none (or null).
std::optional<std::string> param(const HttpCall& c, const std::string& key);

}  // namespace mastotape::replay
