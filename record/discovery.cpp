#include "record/discovery.hpp"

#include <nlohmann/json.hpp>

#include "record/http_client.hpp"

namespace mastotape::record {

boost::asio::awaitable<Discovery> discover(Transport& t, schema::Url instance,
                                           schema::Transport transport, RequestCanceller& cancel) {
    Discovery out;
    for (const char* path : {"/api/v2/instance", "/api/v1/instance"}) {
        schema::Url u = instance;
        u.target = path;
        const HttpResult r = co_await http_get(t, u, "", &cancel);
        if (!r.error.empty() || r.status != 200) {
            continue;
        }
        const auto streaming = streaming_url_from_instance(r.body);
        if (!streaming) {
            continue;
        }
        auto parsed = schema::parse_url(*streaming);
        if (!parsed) {
            continue;
        }
        if (transport == schema::Transport::sse) {
            parsed->scheme = parsed->tls() ? "https" : "http";
        } else if (parsed->scheme == "https" || parsed->scheme == "http") {
            parsed->scheme = parsed->tls() ? "wss" : "ws";
        }
        out.downgrade = instance.tls() && !parsed->tls();
        out.note = "streaming server from " + std::string(path) + ": " + parsed->origin();
        out.streaming = std::move(parsed);
        co_return out;
    }
    co_return out;
}

std::optional<std::string> streaming_url_from_instance(std::string_view body) {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) {
        return std::nullopt;
    }
    if (j.contains("configuration") && j.at("configuration").is_object()) {
        const auto& c = j.at("configuration");
        if (c.contains("urls") && c.at("urls").is_object() && c.at("urls").contains("streaming") &&
            c.at("urls").at("streaming").is_string()) {
            return c.at("urls").at("streaming").get<std::string>();
        }
    }
    if (j.contains("urls") && j.at("urls").is_object() && j.at("urls").contains("streaming_api") &&
        j.at("urls").at("streaming_api").is_string()) {
        return j.at("urls").at("streaming_api").get<std::string>();
    }
    return std::nullopt;
}

}  // namespace mastotape::record
