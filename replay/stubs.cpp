#include "replay/stubs.hpp"

#include <stdexcept>

#include "replay/user_document.hpp"

namespace mastotape::replay {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

StubAnswer answer_of(const Json& spec, const std::string& where) {
    StubAnswer a;
    if (spec.is_null()) {
        return a;
    }
    if (!spec.is_object()) {
        fail(where, "expected an object (status, headers, body or json, delay_ms), found " +
                        json_kind(spec));
    }
    bool has_body = false;
    for (const auto& [key, value] : spec.items()) {
        const std::string at = member_at(where, key);
        if (key == "status") {
            if (!value.is_number_integer() || value.get<int>() < 100 || value.get<int>() > 599) {
                fail(at, "expected an HTTP status, 100 to 599");
            }
            a.status = value.get<int>();
        } else if (key == "headers") {
            if (!value.is_object()) {
                fail(at, "expected an object of header names");
            }
            for (const auto& [name, text] : value.items()) {
                if (!text.is_string() && !text.is_number()) {
                    fail(member_at(at, name), "expected text, found " + json_kind(text));
                }
                a.headers.emplace_back(name,
                                       text.is_string() ? text.get<std::string>() : text.dump());
            }
        } else if (key == "body" || key == "json") {
            if (has_body) {
                fail(at, "a response has one of body and json");
            }
            has_body = true;
            a.body = key == "body" && value.is_string() ? value.get<std::string>() : value.dump();
        } else if (key == "delay_ms") {
            if (!value.is_number() || value.get<double>() < 0) {
                fail(at, "expected milliseconds, 0 or more");
            }
            a.delay_ms = static_cast<std::int64_t>(value.get<double>());
        } else {
            fail(at, "unknown key (a response has status, headers, body, json, delay_ms)");
        }
    }
    return a;
}

}  // namespace

Stubs Stubs::parse(const Json& doc, const std::string& origin) {
    Stubs out;
    out.origin_ = origin;
    const Json* list = &doc;
    if (doc.is_object() && doc.size() == 1 && doc.contains("stubs")) {
        list = &doc["stubs"];
    }
    if (!list->is_array()) {
        fail(origin, "expected a list of stubs (or {\"stubs\": [...]}), found " + json_kind(doc));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
        const Json& spec = (*list)[i];
        std::string where = origin + ": stub " + std::to_string(i + 1);
        if (!spec.is_object()) {
            fail(where, "expected an object (name, request, response), found " + json_kind(spec));
        }
        Stub s;
        s.answer.name = "stub " + std::to_string(i + 1);
        for (const auto& [key, value] : spec.items()) {
            if (key == "name") {
                if (!value.is_string()) {
                    fail(where + ".name", "expected text");
                }
                s.answer.name = value.get<std::string>();
            } else if (key != "request" && key != "response") {
                fail(member_at(where, key), "unknown key (a stub has name, request, response)");
            }
        }
        where = origin + ": " + s.answer.name;
        s.request = RequestMatcher::parse(spec.value("request", Json()), where + ": request");
        s.request_text = s.request.describe();
        s.answer = [&] {
            StubAnswer a = answer_of(spec.value("response", Json()), where + ": response");
            a.name = s.answer.name;
            return a;
        }();
        out.stubs_.push_back(std::move(s));
    }
    return out;
}

std::optional<StubAnswer> Stubs::match(const HttpCall& c) {
    for (auto& s : stubs_) {
        if (s.request.matches(c)) {
            ++s.hits;
            return s.answer;
        }
    }
    return std::nullopt;
}

std::string Stubs::json() const {
    Json list = Json::array();
    for (const auto& s : stubs_) {
        list.push_back({{"name", s.answer.name},
                        {"request", s.request_text},
                        {"status", s.answer.status},
                        {"hits", s.hits}});
    }
    return Json{{"origin", origin_}, {"stubs", std::move(list)}}.dump(
        -1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace mastotape::replay
