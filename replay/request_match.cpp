#include "replay/request_match.hpp"

#include <algorithm>
#include <stdexcept>

#include "replay/user_document.hpp"
#include "schema/mastodon/client_protocol.hpp"

namespace mastotape::replay {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

std::string text_of(const Json& v, const std::string& where) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_number() || v.is_boolean()) {
        return v.dump();
    }
    fail(where, "expected text, found " + json_kind(v));
}

std::regex regex_of(const std::string& pattern, const std::string& where) {
    try {
        return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        fail(where, "not a valid regular expression (" + std::string(e.what()) + "): " + pattern);
    }
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

}  // namespace

const Json* field_of(const Json& doc, const std::string& path) {
    const Json* at = &doc;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t dot = std::min(path.find('.', start), path.size());
        const std::string key = path.substr(start, dot - start);
        if (!at->is_object() || !at->contains(key)) {
            return nullptr;
        }
        at = &(*at)[key];
        start = dot + 1;
    }
    return at;
}

std::string with_fields(const std::string& text, const Json* item) {
    if (item == nullptr || text.find('{') == std::string::npos) {
        return text;
    }
    std::string out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t open = text.find('{', at);
        const std::size_t close = open == std::string::npos ? open : text.find('}', open);
        if (close == std::string::npos) {
            out += text.substr(at);
            break;
        }
        out += text.substr(at, open - at);
        if (const Json* v = field_of(*item, text.substr(open + 1, close - open - 1))) {
            out += v->is_string() ? v->get<std::string>() : v->dump();
        }
        at = close + 1;
    }
    return out;
}

RequestMatcher::Value RequestMatcher::value_of(const Json& spec, const std::string& where) {
    Value v;
    if (!spec.is_object()) {
        v.text = text_of(spec, where);
        return v;
    }
    if (spec.size() != 1) {
        fail(where, "expected one of matches, absent, present");
    }
    const std::string key = spec.begin().key();
    const Json& arg = spec.begin().value();
    if (key == "matches") {
        v.kind = Value::Kind::matches;
        v.text = text_of(arg, where + ".matches");
        v.pattern = regex_of(v.text, where + ".matches");
    } else if (key == "absent" && arg == true) {
        v.kind = Value::Kind::absent;
    } else if (key == "present" && arg == true) {
        v.kind = Value::Kind::present;
    } else {
        fail(where, "expected text, {matches: REGEX}, {absent: true} or {present: true}");
    }
    return v;
}

std::vector<RequestMatcher::Named> RequestMatcher::named_of(const Json& spec,
                                                            const std::string& where) {
    if (!spec.is_object()) {
        fail(where, "expected an object of parameter names, found " + json_kind(spec));
    }
    std::vector<Named> out;
    for (const auto& [name, value] : spec.items()) {
        out.push_back({name, value_of(value, member_at(where, name))});
    }
    return out;
}

RequestMatcher RequestMatcher::parse(const Json& spec, const std::string& where) {
    RequestMatcher m;
    if (spec.is_null()) {
        return m;
    }
    if (!spec.is_object()) {
        fail(where, "expected an object (method, path, params...), found " + json_kind(spec));
    }
    for (const auto& [key, value] : spec.items()) {
        const std::string at = member_at(where, key);
        if (key == "method") {
            m.method_ = upper(text_of(value, at));
        } else if (key == "path") {
            m.path_ = text_of(value, at);
        } else if (key == "path_pattern") {
            m.path_pattern_text_ = text_of(value, at);
            m.path_pattern_ = regex_of(m.path_pattern_text_, at);
            m.has_path_pattern_ = true;
        } else if (key == "query") {
            m.query_ = named_of(value, at);
        } else if (key == "params") {
            m.params_ = named_of(value, at);
        } else if (key == "body_contains") {
            m.body_contains_ = text_of(value, at);
        } else if (key == "body_matches") {
            m.body_matches_text_ = text_of(value, at);
            m.body_matches_ = regex_of(m.body_matches_text_, at);
            m.has_body_matches_ = true;
        } else {
            fail(at,
                 "unknown key (a request has method, path, path_pattern, query, params, "
                 "body_contains, body_matches)");
        }
    }
    return m;
}

bool RequestMatcher::value_matches(const Value& v, const std::optional<std::string>& actual,
                                   const Json* item) {
    switch (v.kind) {
        case Value::Kind::absent:
            return !actual;
        case Value::Kind::present:
            return actual.has_value();
        case Value::Kind::matches:
            return actual && std::regex_match(*actual, v.pattern);
        case Value::Kind::equals:
            return actual && *actual == with_fields(v.text, item);
    }
    return false;
}

bool RequestMatcher::matches(const HttpCall& c, const Json* item) const {
    if (!method_.empty() && c.method != method_) {
        return false;
    }
    if (!path_.empty() && c.path != with_fields(path_, item)) {
        return false;
    }
    if (has_path_pattern_ && !std::regex_match(c.path, path_pattern_)) {
        return false;
    }
    for (const auto& q : query_) {
        if (!value_matches(q.value, schema::query_param(c.query, q.name), item)) {
            return false;
        }
    }
    for (const auto& p : params_) {
        if (!value_matches(p.value, param(c, p.name), item)) {
            return false;
        }
    }
    if (!body_contains_.empty() &&
        c.body.find(with_fields(body_contains_, item)) == std::string::npos) {
        return false;
    }
    return !has_body_matches_ || std::regex_search(c.body, body_matches_);
}

std::string RequestMatcher::describe(const Json* item) const {
    std::string out = method_.empty() ? "a request" : method_;
    const char* to = method_.empty() ? " to " : " ";
    if (!path_.empty()) {
        out += to + with_fields(path_, item);
    } else if (has_path_pattern_) {
        out += to + ("~" + path_pattern_text_);
    } else if (method_.empty()) {
        out = "any request";
    }
    std::string with;
    const auto add = [&](const std::vector<Named>& list) {
        for (const auto& n : list) {
            with += with.empty() ? "" : ", ";
            switch (n.value.kind) {
                case Value::Kind::equals:
                    with += n.name + "=" + with_fields(n.value.text, item);
                    break;
                case Value::Kind::matches:
                    with += n.name + "~" + n.value.text;
                    break;
                case Value::Kind::absent:
                    with += "no " + n.name;
                    break;
                case Value::Kind::present:
                    with += "a " + n.name;
                    break;
            }
        }
    };
    add(query_);
    add(params_);
    if (!body_contains_.empty()) {
        with += (with.empty() ? "" : ", ") + std::string("a body containing \"") +
                with_fields(body_contains_, item) + "\"";
    }
    if (has_body_matches_) {
        with += (with.empty() ? "" : ", ") + std::string("a body matching ") + body_matches_text_;
    }
    return with.empty() ? out : out + " with " + with;
}

}  // namespace mastotape::replay
