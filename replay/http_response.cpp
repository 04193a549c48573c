#include "replay/http_response.hpp"

#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <random>

#include "schema/mastodon/iso_time.hpp"
#include "schema/text/byte_codec.hpp"
#include "schema/text/json_text.hpp"

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

namespace {

// Now as an HTTP date, as Node writes `Date`.
std::string http_date() {
    return schema::http_date(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

// Collects an object's string members in order, repeated keys included; anything else in the
// document makes it no header list.
struct HeaderSax : nlohmann::json_sax<nlohmann::json> {
    HeaderList out;
    std::string name;
    int depth = 0;
    bool ok = true;

    bool fail() { return ok = false; }
    bool null() override { return fail(); }
    bool boolean(bool) override { return fail(); }
    bool number_integer(number_integer_t) override { return fail(); }
    bool number_unsigned(number_unsigned_t) override { return fail(); }
    bool number_float(number_float_t, const string_t&) override { return fail(); }
    bool binary(binary_t&) override { return fail(); }
    bool start_array(std::size_t) override { return fail(); }
    bool end_array() override { return fail(); }
    bool start_object(std::size_t) override { return ++depth == 1 || fail(); }
    bool end_object() override { return true; }
    bool key(string_t& k) override {
        name = k;
        return true;
    }
    bool string(string_t& v) override {
        if (depth != 1) {
            return fail();
        }
        out.emplace_back(name, v);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return fail();
    }
};

bool named(const std::string& name, const char* wanted) {
    return boost::beast::iequals(name, wanted);
}

}  // namespace

namespace {

// The head of the streaming server's Express answers, in its order: the app's own headers, then
// `more`, then Node's Date and Connection (and Keep-Alive).
Response express_answer(const Request& req, http::status status, const HeaderList& more) {
    Response res{status, req.version()};
    res.set("X-Powered-By", "Express");
    res.set("X-Request-Id", random_uuid());
    res.set(http::field::access_control_allow_origin, "*");
    for (const auto& [name, value] : more) {
        res.insert(name, value);
    }
    res.set(http::field::date, http_date());
    if (req.keep_alive()) {
        res.set(http::field::connection, "keep-alive");
        res.set(http::field::keep_alive, "timeout=5");
    } else {
        res.set(http::field::connection, "close");
    }
    return res;
}

}  // namespace

Response streaming_error(const Request& req, http::status status, const std::string& message) {
    Response res = express_answer(req, status, {{"Content-Type", "application/json"}});
    res.body() = schema::error_json(message);
    res.chunked(true);
    return res;
}

Response streaming_health(const Request& req) {
    Response res =
        express_answer(req, http::status::ok,
                       {{"Content-Type", "text/plain"}, {"Cache-Control", "private, no-store"}});
    res.body() = "OK";
    res.chunked(true);
    return res;
}

Response cors_preflight(const Request& req) {
    // The cors() middleware with its defaults: any origin, the usual methods, the headers asked
    // for, and no body.
    HeaderList more = {{"Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"},
                       {"Vary", "Access-Control-Request-Headers"}};
    const auto asked = req[http::field::access_control_request_headers];
    if (!asked.empty()) {
        more.emplace_back("Access-Control-Allow-Headers", std::string(asked));
    }
    more.emplace_back("Content-Length", "0");
    return express_answer(req, http::status::no_content, more);
}

HeaderList header_list(const std::string& json) {
    HeaderSax sax;
    if (!nlohmann::json::sax_parse(json, &sax) || !sax.ok) {
        return {};
    }
    return std::move(sax.out);
}

std::string sse_head(const HeaderList& recorded) {
    static const HeaderList kMastodon = {
        {"X-Powered-By", "Express"},
        {"X-Request-Id", ""},
        {"Access-Control-Allow-Origin", "*"},
        {"Content-Type", "text/event-stream"},
        {"Cache-Control", "private, no-store"},
        {"Transfer-Encoding", "chunked"},
        {"Date", ""},
        {"Connection", "keep-alive"},
        {"Keep-Alive", "timeout=5"},
    };
    std::string head = "HTTP/1.1 200 OK\r\n";
    bool chunked = false;
    for (const auto& [name, recorded_value] : recorded.empty() ? kMastodon : recorded) {
        std::string value = recorded_value;
        if (named(name, "Content-Length") || named(name, "Content-Encoding")) {
            continue;
        }
        if (named(name, "X-Request-Id")) {
            value = random_uuid();
        } else if (named(name, "Date")) {
            value = http_date();
        } else if (named(name, "Transfer-Encoding")) {
            chunked = true;
            value = "chunked";
        }
        head.append(name).append(": ").append(value).append("\r\n");
    }
    if (!chunked) {
        head += "Transfer-Encoding: chunked\r\n";
    }
    return head + "\r\n";
}

}  // namespace mastotape::replay
