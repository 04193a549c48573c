#include "schema/text/json_array.hpp"

#include <algorithm>

#include <simdjson.h>

namespace mastotape::schema {

std::optional<std::vector<std::string_view>> split_json_array(std::string_view text) {
    // Well-formedness first, so the scan below may trust the structure.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS || !doc.is_array()) {
        return std::nullopt;
    }
    std::vector<std::string_view> out;
    std::size_t i = text.find('[') + 1;
    int depth = 0;
    bool in_string = false;
    std::size_t start = std::string_view::npos;
    auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    auto close_element = [&](std::size_t end) {
        if (start == std::string_view::npos) {
            return;
        }
        while (end > start && is_space(text[end - 1])) {
            --end;
        }
        out.push_back(text.substr(start, end - start));
        start = std::string_view::npos;
    };
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (start == std::string_view::npos && !is_space(c) && c != ',' &&
            !(depth == 0 && c == ']')) {
            start = i;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            ++depth;
        } else if (c == ']' || c == '}') {
            if (depth == 0) {
                close_element(i);
                // Only whitespace may follow: simdjson takes a NUL for the end of the document.
                const auto rest = text.substr(i + 1);
                if (!std::all_of(rest.begin(), rest.end(), is_space)) {
                    return std::nullopt;
                }
                break;
            }
            --depth;
        } else if (c == ',' && depth == 0) {
            close_element(i);
        }
    }
    return out;
}

int compare_ids(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

}  // namespace mastotape::schema
