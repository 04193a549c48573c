#pragma once

// Answers for the routes the replayer does not know (`replay --stub FILE`), as a test states
// them, WireMock's way: a list, first match wins, in file order; a stub is looked at before the
// replayer's own routes, so that a test can also make one of those fail. A document (JSON or
// YAML, user_document.hpp), either the list itself or {"stubs": [...]}:
//
//     - name: lists                    # optional ("stub 1", "stub 2"... otherwise)
//       request: {method: GET, path: /api/v1/lists}      # request_match.hpp
//       response:
//         status: 200                  # 200 when left out
//         headers: {X-Custom: yes}
//         body: "[]"                   # text as it is; or
//         json: [{"id": "1", "title": "friends"}]        # a JSON document
//         delay_ms: 250                # real milliseconds before the answer
//
// Reloaded at run time through the control API (/_mastotape/stubs). Beast-free.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "replay/http_call.hpp"
#include "replay/request_match.hpp"

namespace mastotape::replay {

struct StubAnswer {
    std::string name;
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::int64_t delay_ms = 0;
};

class Stubs {
   public:
    Stubs() = default;
    // Throws std::runtime_error with one line naming `origin` and the stub at fault.
    static Stubs parse(const nlohmann::ordered_json& doc, const std::string& origin);

    // The first stub that matches, its hit counted.
    std::optional<StubAnswer> match(const HttpCall& c);
    std::size_t size() const { return stubs_.size(); }
    // {"origin": ..., "stubs": [{"name", "request", "status", "hits"}, ...]}
    std::string json() const;

   private:
    struct Stub {
        RequestMatcher request;
        std::string request_text;
        StubAnswer answer;
        std::int64_t hits = 0;
    };
    std::string origin_;
    std::vector<Stub> stubs_;
};

}  // namespace mastotape::replay
