#pragma once

// The replayer's HTTP answers as Mastodon writes them. Private to replay/'s .cpp files: Beast.

#include <boost/beast/http.hpp>

#include <string>

namespace mastotape::replay {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A fresh X-Request-Id (a version 4 UUID).
std::string random_uuid();

// A JSON answer to `req` with Mastodon's headers (content type, CORS, X-Request-Id), keeping the
// connection alive as the request asks.
Response json_response(const Request& req, boost::beast::http::status status, std::string body);

// {"error":"<message>"} with the message escaped.
std::string error_body(const std::string& message);

}  // namespace mastotape::replay
