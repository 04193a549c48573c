#pragma once

// What a stub or an expectation asks of a client's request, as its document states it:
//
//     method: POST                     # any method when left out
//     path: /api/v1/statuses           # the path exactly; or
//     path_pattern: ^/api/v1/statuses/[0-9]+$   # an ECMAScript regex the whole path matches
//     query: {limit: "20"}             # query parameters
//     params: {in_reply_to_id: "{status.id}", spoiler_text: {absent: true}}
//                                      # parameters as Mastodon reads them: JSON or form body, or
//                                      # the query
//     body_contains: "thanks"          # the body holds this text
//     body_matches: "@[a-z]+ thanks"   # an ECMAScript regex found in the body
//
// A value under query or params is text the parameter equals, or {matches: REGEX} (the whole
// value), {absent: true}, {present: true}. Inside an expectation's for_each, "{a.b}" in a value
// stands for field a.b of the tape item at hand (its JSON payload). Unknown keys are an error:
// a misspelt matcher would match everything. Beast-free.

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "replay/http_call.hpp"

namespace mastotape::replay {

class RequestMatcher {
   public:
    // Matches every request.
    RequestMatcher() = default;
    // Throws std::runtime_error "WHERE: ..." for a spec it cannot read.
    static RequestMatcher parse(const nlohmann::ordered_json& spec, const std::string& where);

    // `item`: the for_each item whose fields "{...}" placeholders name (nullptr: none).
    bool matches(const HttpCall& c, const nlohmann::ordered_json* item = nullptr) const;
    // "POST /api/v1/statuses with in_reply_to_id={status.id}", "a request to /api/v1/lists",
    // "any request"; with `item`, its fields in place of the placeholders.
    std::string describe(const nlohmann::ordered_json* item = nullptr) const;

   private:
    struct Value {
        enum class Kind { equals, matches, absent, present } kind = Kind::equals;
        std::string text;  // equals: the text (placeholders and all); matches: the pattern
        std::regex pattern;
    };
    struct Named {
        std::string name;
        Value value;
    };

    static Value value_of(const nlohmann::ordered_json& spec, const std::string& where);
    static std::vector<Named> named_of(const nlohmann::ordered_json& spec,
                                       const std::string& where);
    static bool value_matches(const Value& v, const std::optional<std::string>& actual,
                              const nlohmann::ordered_json* item);

    std::string method_;
    std::string path_;
    std::string path_pattern_text_;
    std::regex path_pattern_;
    bool has_path_pattern_ = false;
    std::vector<Named> query_;
    std::vector<Named> params_;
    std::string body_contains_;
    std::string body_matches_text_;
    std::regex body_matches_;
    bool has_body_matches_ = false;
};

// "{a.b}" placeholders in `text` replaced with fields of `item` (a string as it is, other values
// as their JSON text, a missing field as nothing).
std::string with_fields(const std::string& text, const nlohmann::ordered_json* item);
// Field a.b.c of `doc`, or nullptr when there is none.
const nlohmann::ordered_json* field_of(const nlohmann::ordered_json& doc, const std::string& path);

}  // namespace mastotape::replay
