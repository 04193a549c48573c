#include "replay/http_call.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/url.hpp"

namespace mastotape::replay {

namespace {

// The value of `attribute` ("name", "filename", "boundary") in a header's parameters, quoted or
// not.
std::string header_param(std::string_view header, std::string_view attribute) {
    const std::string key = std::string(attribute) + "=";
    std::size_t at = 0;
    while ((at = header.find(key, at)) != std::string_view::npos) {
        if (at == 0 || header[at - 1] == ' ' || header[at - 1] == ';') {
            at += key.size();
            if (at < header.size() && header[at] == '"') {
                const std::size_t end = header.find('"', at + 1);
                return std::string(header.substr(
                    at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1));
            }
            const std::size_t end = header.find(';', at);
            return std::string(header.substr(at, end == std::string_view::npos ? end : end - at));
        }
        at += key.size();
    }
    return {};
}

}  // namespace

std::vector<FormPart> form_parts(const HttpCall& c) {
    std::vector<FormPart> out;
    if (!c.content_type.starts_with("multipart/form-data")) {
        return out;
    }
    const std::string boundary = header_param(c.content_type, "boundary");
    if (boundary.empty()) {
        return out;
    }
    const std::string delimiter = "--" + boundary;
    std::size_t at = c.body.find(delimiter);
    while (at != std::string::npos) {
        at += delimiter.size();
        if (c.body.compare(at, 2, "--") == 0) {
            return out;  // the closing delimiter
        }
        const std::size_t head_end = c.body.find("\r\n\r\n", at);
        const std::size_t next = c.body.find("\r\n" + delimiter, at);
        if (head_end == std::string::npos || next == std::string::npos || head_end > next) {
            return {};
        }
        FormPart part;
        const std::string_view head(c.body.data() + at, head_end - at);
        for (std::size_t line = 0; line < head.size();) {
            const std::size_t end = std::min(head.find("\r\n", line), head.size());
            const std::string_view h = head.substr(line, end - line);
            const std::size_t colon = h.find(':');
            std::string name(h.substr(0, colon == std::string_view::npos ? 0 : colon));
            for (auto& ch : name) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
            const std::string_view value =
                colon == std::string_view::npos ? std::string_view() : h.substr(colon + 1);
            if (name == "content-disposition") {
                part.name = header_param(value, "name");
                part.filename = header_param(value, "filename");
            } else if (name == "content-type") {
                part.content_type = std::string(value.substr(value.find_first_not_of(' ')));
            }
            line = end + 2;
        }
        part.value = c.body.substr(head_end + 4, next - head_end - 4);
        out.push_back(std::move(part));
        at = next + 2;
    }
    return {};
}

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
    } else {
        for (auto& part : form_parts(c)) {
            if (part.name == key && part.filename.empty()) {
                return std::move(part.value);
            }
        }
    }
    return schema::query_param(c.query, key);
}

std::vector<std::string> param_list(const HttpCall& c, const std::string& key) {
    std::vector<std::string> out;
    if (c.content_type.starts_with("application/json")) {
        const auto doc = nlohmann::json::parse(c.body, nullptr, false);
        if (doc.is_object() && doc.contains(key)) {
            for (const auto& v :
                 doc[key].is_array() ? doc[key] : nlohmann::json::array({doc[key]})) {
                if (!v.is_null()) {
                    out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
                }
            }
        }
        return out;
    }
    const std::string listed = key + "[]";
    for (auto& part : form_parts(c)) {
        if (part.filename.empty() && (part.name == key || part.name == listed)) {
            out.push_back(std::move(part.value));
        }
    }
    const bool form = c.content_type.starts_with("application/x-www-form-urlencoded");
    for (const std::string_view text :
         {form ? std::string_view(c.body) : std::string_view(), std::string_view(c.query)}) {
        std::size_t at = 0;
        while (at < text.size()) {
            const std::size_t end = std::min(text.find('&', at), text.size());
            const std::string_view pair = text.substr(at, end - at);
            const std::size_t eq = std::min(pair.find('='), pair.size());
            const std::string name = schema::percent_decode(pair.substr(0, eq));
            if (name == key || name == listed) {
                out.push_back(schema::percent_decode(pair.substr(std::min(eq + 1, pair.size()))));
            }
            at = end + 1;
        }
    }
    return out;
}

}  // namespace mastotape::replay
