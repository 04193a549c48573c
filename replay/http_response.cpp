#include "replay/http_response.hpp"

#include <random>

#include "schema/json_text.hpp"

namespace mastotape::replay {

namespace http = boost::beast::http;

std::string random_uuid() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t a = rng();
    return schema::format_uuid_v4(a, rng());
}

Response json_response(const Request& req, http::status status, std::string body) {
    Response res{status, req.version()};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.set(http::field::access_control_allow_origin, "*");
    res.set("X-Request-Id", random_uuid());
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

std::string error_body(const std::string& message) {
    std::string body = "{\"error\":";
    schema::append_json_string(body, message);
    return body + "}";
}

}  // namespace mastotape::replay
