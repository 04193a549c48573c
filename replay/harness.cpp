#include "replay/harness.hpp"

#include <utility>

#include "replay/control_access.hpp"
#include "replay/user_document.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::replay {
namespace {

constexpr std::string_view kRequests = "/_mastotape/requests";
constexpr std::string_view kStubs = "/_mastotape/stubs";
constexpr std::string_view kExpectations = "/_mastotape/expectations";

ControlAnswer refused(int status, const std::string& why) {
    return {status, schema::error_json(why)};
}

}  // namespace

Harness::Harness(std::string stub_file, const std::string& expect_file)
    : stub_file_(std::move(stub_file)) {
    if (!stub_file_.empty()) {
        stubs_ = Stubs::parse(load_user_document(stub_file_), stub_file_);
    }
    if (!expect_file.empty()) {
        expectations_ = parse_expectations(load_user_document(expect_file), expect_file);
    }
}

bool Harness::owns(std::string_view path) {
    return path == kRequests || path == kStubs || path == kExpectations;
}

std::optional<ControlAnswer> Harness::control(std::string_view path, std::string_view query,
                                              const std::string& body) {
    if (path == kRequests) {
        return ControlAnswer{200, journal_.json()};
    }
    if (path == kStubs && !control_acts(path, query)) {
        return ControlAnswer{200, stubs_.json()};
    }
    try {
        if (path == kStubs) {
            if (body.empty() && stub_file_.empty()) {
                return refused(400, "no --stub file to read again: POST the stubs as the body");
            }
            stubs_ = body.empty() ? Stubs::parse(load_user_document(stub_file_), stub_file_)
                                  : Stubs::parse(parse_user_document(body, "the stubs posted"),
                                                 "the stubs posted");
            return ControlAnswer{200, stubs_.json()};
        }
        if (schema::query_param(query, "clear")) {
            expectations_.clear();
        } else if (schema::query_param(query, "add")) {
            auto more = parse_expectations(parse_user_document(body, "the expectations posted"),
                                           "the expectations posted");
            expectations_.insert(expectations_.end(), more.begin(), more.end());
        } else {
            return std::nullopt;  // judged by the caller
        }
    } catch (const std::runtime_error& e) {
        return refused(400, e.what());  // and what there was stays
    }
    return ControlAnswer{200, "{\"expectations\":" + std::to_string(expectations_.size()) + "}"};
}

HarnessVerdict judge(const std::vector<Expectation>& expectations, const RequestJournal& journal,
                     schema::TapeStore& store, const schema::Session& session,
                     const std::vector<ClientView>& clients, bool times) {
    HarnessVerdict v;
    v.results = judge_expectations(expectations, journal.entries(), store, session, clients, times);
    v.report = {{"requests", journal.list(times)}, {"expectations", expectations_json(v.results)}};
    v.junit = expectations_junit(v.results);
    v.journal_lines = journal.lines(times);
    if (journal.dropped() > 0 && !expectations.empty()) {
        v.unmet.push_back("the journal kept the first " + std::to_string(journal.max_entries()) +
                          " requests; " + std::to_string(journal.dropped()) +
                          " more were not judged, so no expectation can be said met");
    }
    for (const auto& r : v.results) {
        if (!r.met) {
            v.unmet.push_back(r.name + ": " + std::to_string(r.unmet.size()) +
                              " unmet, first: " + r.unmet.front());
        }
    }
    return v;
}

}  // namespace mastotape::replay
