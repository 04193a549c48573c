// JSON string escaping as the streaming server's JSON.stringify does it.

#include "schema/text/json_text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace mastotape;

TEST_CASE("Escaping matches a JSON serializer for every ASCII byte and keeps UTF-8 literal") {
    std::string all;
    for (int c = 1; c < 128; ++c) {
        all += static_cast<char>(c);
    }
    all += std::string(1, '\0') + "caf\xc3\xa9 \xf0\x9f\x90\x98 \"quoted\" \\ end";
    for (const std::string& s : {all, std::string(), std::string("plain text, nothing to escape"),
                                 std::string("\"\"\"\n\n\x01")}) {
        std::string out = "prefix:";
        schema::append_json_string(out, s);
        CHECK(out == "prefix:" + nlohmann::json(s).dump());
        CHECK(nlohmann::json::parse(out.substr(7)).get<std::string>() == s);
    }
    std::string out;
    schema::append_json_escaped(out, std::string("a\x1f\x7f\tb", 5));
    CHECK(out == "a\\u001f\x7f\\tb");  // DEL is not a control character for JSON
}
