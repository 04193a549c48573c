#include "replay/user_document.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mastotape::replay {
namespace {

using Json = nlohmann::ordered_json;

// A plain YAML scalar as YAML 1.2's core schema reads it.
Json plain_scalar(const std::string& s) {
    if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) {
        return nullptr;
    }
    if (s == "true" || s == "True" || s == "TRUE") {
        return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        return false;
    }
    std::int64_t i = 0;
    const char* end = s.data() + s.size();
    const char* first = s.data() + (s.front() == '+' ? 1 : 0);
    if (auto [p, ec] = std::from_chars(first, end, i); ec == std::errc{} && p == end) {
        return i;
    }
    if (std::any_of(s.begin(), s.end(), [](char c) { return c == '.' || c == 'e' || c == 'E'; })) {
        double d = 0;
        if (auto [p, ec] = std::from_chars(first, end, d); ec == std::errc{} && p == end) {
            return d;
        }
    }
    return s;
}

Json from_yaml(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar:
            // "!": a quoted scalar, or one tagged !!str.
            return node.Tag() == "?" ? plain_scalar(node.Scalar()) : Json(node.Scalar());
        case YAML::NodeType::Sequence: {
            Json out = Json::array();
            for (const auto& item : node) {
                out.push_back(from_yaml(item));
            }
            return out;
        }
        case YAML::NodeType::Map: {
            Json out = Json::object();
            for (const auto& entry : node) {
                out[entry.first.as<std::string>()] = from_yaml(entry.second);
            }
            return out;
        }
        default:
            return nullptr;
    }
}

}  // namespace

Json parse_user_document(std::string_view text, const std::string& origin) {
    const auto start = text.find_first_not_of(" \t\r\n");
    const bool looks_json =
        start != std::string_view::npos && (text[start] == '{' || text[start] == '[');
    std::string json_error;
    if (looks_json) {
        try {
            return Json::parse(text);
        } catch (const Json::parse_error& e) {
            const auto upto = static_cast<std::ptrdiff_t>(std::min(e.byte, text.size()));
            const auto line = 1 + std::count(text.begin(), text.begin() + upto, '\n');
            std::string what = e.what();
            what = what.substr(what.find(':') + 2);  // past "[json.exception.parse_error.101] "
            json_error = origin + ": line " + std::to_string(line) + ": not valid JSON: " + what;
        }
    }
    // YAML, which also reads JSON-like flow documents ([{never: {path: /x}}]).
    try {
        return from_yaml(YAML::Load(std::string(text)));
    } catch (const YAML::Exception& e) {
        if (looks_json) {
            throw std::runtime_error(json_error);
        }
        throw std::runtime_error(
            origin +
            (e.mark.is_null() ? std::string() : ": line " + std::to_string(e.mark.line + 1)) +
            ": not valid YAML: " + e.msg);
    }
}

Json load_user_document(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error(path + ": cannot read: " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_user_document(text.str(), path);
}

std::string member_at(const std::string& where, std::string_view key) {
    std::string out = where;
    out += '.';
    out += key;
    return out;
}

std::string json_kind(const Json& doc) {
    switch (doc.type()) {
        case Json::value_t::object:
            return "an object";
        case Json::value_t::array:
            return "a list";
        case Json::value_t::string:
            return "a string";
        case Json::value_t::boolean:
            return "true or false";
        case Json::value_t::null:
            return "nothing";
        default:
            return "a number";
    }
}

}  // namespace mastotape::replay
