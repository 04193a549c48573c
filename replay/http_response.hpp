#pragma once

// The replayer's HTTP answers as Mastodon writes them. Private to replay/'s .cpp files: Beast.

#include <boost/beast/http.hpp>

#include <string>
#include <utility>
#include <vector>

namespace mastotape::replay {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A fresh X-Request-Id (a version 4 UUID).
std::string random_uuid();

// A JSON answer to `req` with Mastodon's headers (content type, CORS, X-Request-Id), keeping the
// connection alive as the request asks.
Response json_response(const Request& req, boost::beast::http::status status, std::string body);

// The streaming server's own error answer (its Express error handler): {"error":"<message>"} as
// a chunked application/json body, the connection kept alive as the request asks.
Response streaming_error(const Request& req, boost::beast::http::status status,
                         const std::string& message);

// GET /api/v1/streaming/health as the streaming server answers it: a chunked text/plain "OK".
Response streaming_health(const Request& req);

// A CORS preflight (OPTIONS) on the Mastodon routes, as the cors() middleware answers it: 204.
Response cors_preflight(const Request& req);

// A response head's fields, in order, as a tape stores them (a JSON object whose keys may repeat).
using HeaderList = std::vector<std::pair<std::string, std::string>>;
// Empty when `json` is not such an object.
HeaderList header_list(const std::string& json);

// The head of an SSE 200 as the real server writes it: `recorded` (an SSE tape's recorded head) in
// its order with a fresh X-Request-Id and Date, or Mastodon's when nothing was recorded; always
// chunked, without a length or an encoding this body does not have.
std::string sse_head(const HeaderList& recorded);

}  // namespace mastotape::replay
