#pragma once

// What a test says in advance its client will do (`replay --expect FILE`, or added at run time
// through /_mastotape/expectations), judged on the request journal and the tape when the replay
// ends (or whenever asked). A document (JSON or YAML), the list itself or {"expect": [...]}:
//
//     - name: replies to every mention
//       for_each: {event: notification, type: mention}     # tape items: the event, and fields
//                                                          # of its payload that must equal
//       request: {method: POST, path: /api/v1/statuses, params: {in_reply_to_id: "{status.id}"}}
//       within_s: 5      # optional: replay-clock seconds from when the client could know it
//     - name: never a post that is not a reply
//       never: {method: POST, path: /api/v1/statuses, params: {in_reply_to_id: {absent: true}}}
//     - name: gentle
//       request: {path_pattern: "^/api/"}
//       at_most: 30
//       per_s: 60        # optional: in any window of this many replay-clock seconds
//     - request: {path: /api/v1/accounts/verify_credentials}
//       at_least: 1
//
// `request` and `never` are request_match.hpp's matchers. A for_each item is every frame of the
// event on the tape and every item of a recorded backfill that the event brings (one per id); it
// became known to the client when it happened if a connection was up then, else when the next
// connection opened (the catch-up's moment); each unmet item says where the client was. Times
// are the replay clock's: deterministic on a virtual clock; at --max-speed a client's clock runs
// as fast as it reads, so a time window there measures the client's reading too, and (`times`
// false) a request's time is left out of what is said of it. Beast-free.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "replay/report/client_report.hpp"
#include "replay/report/request_journal.hpp"
#include "replay/request_match.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

struct Expectation {
    enum class Kind { for_each, never, at_most, at_least };
    std::string name;
    Kind kind = Kind::at_least;
    RequestMatcher request;
    // for_each: the event, and payload fields (dotted paths) with the text each must equal.
    std::string event;
    std::vector<std::pair<std::string, std::string>> fields;
    std::optional<double> within_s;
    std::int64_t count = 0;       // at_most, at_least
    std::optional<double> per_s;  // at_most
    std::string what;             // one line: the expectation in words
};

// Throws std::runtime_error with one line naming `origin` and the expectation at fault.
std::vector<Expectation> parse_expectations(const nlohmann::ordered_json& doc,
                                            const std::string& origin);

struct ExpectationResult {
    std::string name;
    std::string what;
    bool met = true;
    std::int64_t checked = 0;        // items or requests looked at
    std::vector<std::string> unmet;  // one line each
};

std::vector<ExpectationResult> judge_expectations(const std::vector<Expectation>& expectations,
                                                  const std::vector<JournalEntry>& journal,
                                                  schema::TapeStore& store,
                                                  const schema::Session& session,
                                                  const std::vector<ClientView>& clients,
                                                  bool times = true);

// [{"name", "expectation", "met", "checked", "unmet": [...]}, ...]
nlohmann::ordered_json expectations_json(const std::vector<ExpectationResult>& results);
// A JUnit test case each, failed when unmet.
std::vector<JunitCase> expectations_junit(const std::vector<ExpectationResult>& results);

}  // namespace mastotape::replay
