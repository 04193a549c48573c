#pragma once

// What a test sets around the tape for the client under test, and what it checks afterwards: the
// stubs that answer routes the replayer does not know (stubs.hpp), the journal of every request
// (report/request_journal.hpp) and the expectations judged on it (report/expectations.hpp), with
// their control API routes:
//
//     GET  /_mastotape/requests                  the journal
//     GET  /_mastotape/stubs                     the stubs and how often each answered
//     POST /_mastotape/stubs?reload=1            the stubs from the body (JSON or YAML), or from
//                                                the --stub file again when the body is empty
//     GET  /_mastotape/expectations              the expectations judged now
//     POST /_mastotape/expectations?add=1        more, from the body
//     POST /_mastotape/expectations?clear=1      none
//
// Network thread only, but for judge(), which reads the tape (the caller's REST thread) from
// copies. Beast-free.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/control_answer.hpp"
#include "replay/report/client_report.hpp"
#include "replay/report/expectations.hpp"
#include "replay/report/request_journal.hpp"
#include "replay/stubs.hpp"

namespace mastotape::replay {

class Harness {
   public:
    // Reads the files given (either may be empty); throws std::runtime_error with one line.
    Harness(std::string stub_file, const std::string& expect_file);

    // Whether `path` is one of the routes above.
    static bool owns(std::string_view path);
    // The answer to one of the routes above, but for judging the expectations: nullopt (the
    // caller has judge() do that off the network thread).
    std::optional<ControlAnswer> control(std::string_view path, std::string_view query,
                                         const std::string& body);

    // The stub that answers `c`, if one does.
    std::optional<StubAnswer> stub(const HttpCall& c) { return stubs_.match(c); }
    RequestJournal& journal() { return journal_; }
    const std::vector<Expectation>& expectations() const { return expectations_; }

   private:
    std::string stub_file_;
    Stubs stubs_;
    RequestJournal journal_;
    std::vector<Expectation> expectations_;
};

// The expectations judged on copies of the journal and the clients, against the tape; and the
// report's part of them ({"requests": [...], "expectations": [...]}).
// (nlohmann's json may throw when made: so may this, which clang-tidy would otherwise flag.)
struct HarnessVerdict {  // NOLINT(bugprone-exception-escape)
    std::vector<ExpectationResult> results;
    nlohmann::ordered_json report;  // the members the report adds
    std::vector<JunitCase> junit;
    std::string journal_lines;
    std::vector<std::string> unmet;  // a line per unmet expectation
};
// `times`: whether requests' replay-clock times are the tape's (RequestJournal::list).
HarnessVerdict judge(const std::vector<Expectation>& expectations, const RequestJournal& journal,
                     schema::TapeStore& store, const schema::Session& session,
                     const std::vector<ClientView>& clients, bool times);

}  // namespace mastotape::replay
