#include "replay/http_call.hpp"

#include <nlohmann/json.hpp>

#include "schema/mastodon/client_protocol.hpp"

namespace mastotape::replay {

std::optional<std::string> param(const HttpCall& c, const std::string& key) {
    if (c.content_type.starts_with("application/json")) {
        const auto doc = nlohmann::json::parse(c.body, nullptr, false);
        if (doc.is_object() && doc.contains(key) && !doc[key].is_null()) {
            const auto& v = doc[key];
            return v.is_string() ? v.get<std::string>() : v.dump();
        }
    } else if (c.content_type.starts_with("application/x-www-form-urlencoded")) {
        if (auto v = schema::query_param(c.body, key)) {
            return v;
        }
    }
    return schema::query_param(c.query, key);
}

}  // namespace mastotape::replay
