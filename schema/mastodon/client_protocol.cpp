#include "schema/mastodon/client_protocol.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "schema/mastodon/streams.hpp"
#include "schema/mastodon/url.hpp"

namespace mastotape::schema {
namespace {

StreamParam param_of(const std::string& stream) {
    const StreamInfo* info = find_stream(stream);
    return info == nullptr ? StreamParam::none : info->param;
}

bool is_hashtag(const std::string& stream) { return param_of(stream) == StreamParam::tag; }

std::string json_scalar_text(const nlohmann::json& v) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_number_integer()) {
        return std::to_string(v.get<std::int64_t>());
    }
    return "";
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

ClientCommand parse_client_message(std::string_view text) {
    ClientCommand m;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) {
        return m;
    }
    m.valid_json = true;
    if (j.contains("type") && j.at("type").is_string()) {
        m.type = j.at("type").get<std::string>();
    }
    if (j.contains("stream")) {
        const auto& s = j.at("stream");
        if (s.is_string()) {
            m.subscription.stream = s.get<std::string>();
        } else if (s.is_array() && !s.empty() && s.at(0).is_string()) {
            m.subscription.stream = s.at(0).get<std::string>();
        }
    }
    const std::string key(param_key(param_of(m.subscription.stream)));
    if (!key.empty() && j.contains(key)) {
        m.subscription.param = json_scalar_text(j.at(key));
    }
    return m;
}

std::optional<std::string> subscribe_error(const Subscription& s) {
    const StreamInfo* info = find_stream(s.stream);
    if (info == nullptr) {
        return R"({"error":"Unknown stream type","status":400})";
    }
    if (info->param != StreamParam::none && s.param.empty()) {
        return "{\"error\":\"Missing " + std::string(param_key(info->param)) +
               " name parameter\",\"status\":400}";
    }
    return std::nullopt;
}

std::pair<std::string, std::string> split_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) {
        return {std::string(target), ""};
    }
    return {std::string(target.substr(0, q)), std::string(target.substr(q + 1))};
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
    std::size_t pos = 0;
    while (pos <= query.size()) {
        std::size_t end = query.find('&', pos);
        if (end == std::string_view::npos) {
            end = query.size();
        }
        const std::string_view pair = query.substr(pos, end - pos);
        const std::size_t eq = pair.find('=');
        if (percent_decode(pair.substr(0, eq)) == key) {
            return eq == std::string_view::npos ? std::string()
                                                : percent_decode(pair.substr(eq + 1));
        }
        pos = end + 1;
    }
    return std::nullopt;
}

std::optional<Subscription> sse_subscription(std::string_view path, std::string_view query) {
    const auto only_media = query_param(query, "only_media");
    const auto tag = query_param(query, "tag");
    const auto list = query_param(query, "list");
    return subscription_of_sse_path(path, only_media, tag, list);
}

std::optional<Subscription> subscription_of_label(std::string_view label) {
    const auto j = nlohmann::json::parse(label, nullptr, false);
    if (!j.is_array() || j.empty() || !j.at(0).is_string()) {
        return std::nullopt;
    }
    Subscription s{j.at(0).get<std::string>(), ""};
    if (j.size() > 1) {
        if (!j.at(1).is_string() && !j.at(1).is_number_integer()) {
            return std::nullopt;  // a tag or a list id is neither
        }
        s.param = json_scalar_text(j.at(1));
    }
    return s;
}

bool label_matches(std::string_view label, const Subscription& s) {
    const auto named = subscription_of_label(label);
    if (!named || named->stream != s.stream) {
        return false;
    }
    // The server keys hashtag subscriptions by the normalized tag; case is the common difference.
    return is_hashtag(s.stream) ? lower(named->param) == lower(s.param) : named->param == s.param;
}

std::string request_token(std::string_view authorization, std::string_view query,
                          std::string_view subprotocol) {
    if (!authorization.empty()) {
        if (authorization.rfind("Bearer ", 0) == 0) {
            authorization.remove_prefix(7);
        }
        return std::string(authorization);
    }
    if (auto t = query_param(query, "access_token")) {
        return *t;
    }
    return std::string(subprotocol);
}

}  // namespace mastotape::schema
