// split_json_array keeps each element's exact bytes (a backfilled item is stored as the server
// sent it), and compare_ids orders Mastodon's ids as numbers.

#include "schema/text/json_array.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace mastotape::schema;

TEST_CASE("A REST page splits into its elements' exact bytes, or is refused whole") {
    using Parts = std::vector<std::string>;
    const struct {
        const char* text;
        std::optional<Parts> parts;
    } cases[] = {
        {"[]", Parts{}},
        {" [ ] ", Parts{}},
        {R"([{"id":"1"}])", Parts{R"({"id":"1"})"}},
        {R"([ {"id":"2"} , {"id":"1"} ])", Parts{R"({"id":"2"})", R"({"id":"1"})"}},
        // Brackets, braces, commas and escaped quotes inside strings are the element's own.
        {R"([{"c":"a],[b\"}"},{"d":[1,[2]]}])", Parts{R"({"c":"a],[b\"}"})", R"({"d":[1,[2]]})"}},
        {R"([{"id" : "1" ,"x":null}])", Parts{R"({"id" : "1" ,"x":null})"}},  // kept as sent
        {"[1,\"two\",true,null]", Parts{"1", "\"two\"", "true", "null"}},
        {"[{\"t\":\"\xe2\x80\xa8\"}]", Parts{"{\"t\":\"\xe2\x80\xa8\"}"}},  // U+2028 stays
        {"", std::nullopt},
        {"{}", std::nullopt},
        {"[", std::nullopt},
        {R"([{"id":"1"})", std::nullopt},
        {R"([{"id":"1"},])", std::nullopt},
        {R"([{"id":"1"}] trailing)", std::nullopt},
        {R"([{"id":"1})", std::nullopt},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        const auto got = split_json_array(c.text);
        REQUIRE(got.has_value() == c.parts.has_value());
        if (got) {
            CHECK(Parts(got->begin(), got->end()) == *c.parts);
        }
    }
    // Found by fuzz_json_array: simdjson ends a document at a NUL, so what follows it went
    // unread and the page was taken.
    for (const std::string& nul : {std::string("[]\0\0;\"", 7), std::string("[1]\0", 4)}) {
        CHECK_FALSE(split_json_array(nul));
    }
}

TEST_CASE("Mastodon ids compare as numbers, whatever their length") {
    CHECK(compare_ids("9", "10") < 0);
    CHECK(compare_ids("110", "1099") < 0);
    CHECK(compare_ids("117133384092614656", "117133384092614656") == 0);
    CHECK(compare_ids("117133384092614657", "117133384092614656") > 0);
}
