#pragma once

// A client's plain HTTP request as the replayer's REST rooms see it (the bot routes, stubs,
// expectations): no Beast here.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// A part of a multipart/form-data body (an upload).
struct FormPart {
    std::string name;
    std::string filename;      // a file's
    std::string content_type;  // a file's, e.g. image/png
    std::string value;         // the bytes
};
// The parts of a multipart/form-data body; none for another body, or one that is not whole.
std::vector<FormPart> form_parts(const HttpCall& c);

// A parameter as Mastodon reads it: from a JSON body, a form body (urlencoded or multipart), or
// else the query; a JSON value that is not a string as its JSON text. nullopt when the request
// has none (or null).
std::optional<std::string> param(const HttpCall& c, const std::string& key);
// Every value of a list parameter: a JSON array, or each `key[]=` (and `key=`) of a form body
// or the query, in order.
std::vector<std::string> param_list(const HttpCall& c, const std::string& key);

}  // namespace mastotape::replay
