// libFuzzer: a REST page as a server sends it, split into its items' exact bytes. What splits is
// an array nlohmann accepts, with as many elements, each item a substring of the page that is
// JSON on its own; what does not split is not an array nlohmann accepts. Ids compare as a total
// order.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schema/text/json_array.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mastotape;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto items = schema::split_json_array(text);
    // A raw NUL is never JSON (not even in a string); nlohmann, like simdjson, reads it as the end.
    if (text.find('\0') != std::string_view::npos) {
        if (items) {
            std::abort();
        }
        return 0;
    }
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (items) {
        if (!parsed.is_array() || parsed.size() != items->size()) {
            std::abort();
        }
        for (const std::string_view item : *items) {
            if (item.data() < text.data() ||
                item.data() + item.size() > text.data() + text.size() ||
                !nlohmann::json::accept(item)) {
                std::abort();
            }
        }
    } else if (parsed.is_array()) {
        std::abort();
    }
    // compare_ids: antisymmetric, and equal only to itself when both are plain digits.
    const std::string_view a = text.substr(0, size / 2), b = text.substr(size / 2);
    if (schema::compare_ids(a, b) != -schema::compare_ids(b, a) || schema::compare_ids(a, a) != 0) {
        std::abort();
    }
    return 0;
}
