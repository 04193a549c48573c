#pragma once

// The verdict on a client under test (`replay --report`), made from its ClientLog and the tape:
// the items the tape made available on the client's streams up to where it got, and for each
// whether it came on the stream, over REST, both, or never (with where it was, and why: which
// request would have returned it); its connections and how each ended; its attempts while away
// (how soon, how often, whether the delays grew); its REST requests and the Links it followed;
// pings and pongs. Beast-free.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "replay/report/backfill_review.hpp"
#include "replay/report/client_log.hpp"
#include "replay/tape_plan.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

// One client's report.
struct ClientReport {
    std::string name;
    std::int64_t available = 0;
    std::int64_t on_stream = 0;  // of the available, got on the stream only
    std::int64_t over_rest = 0;  // over REST only
    std::int64_t both = 0;       // both: a duplicate the client must drop
    struct Missed {
        Item item;
        std::int64_t offset_ns = 0;       // when it happened on the tape
        std::string where;                // e.g. "while away between connections 1 and 2"
        std::optional<std::size_t> away;  // k: between connections k and k+1
        std::size_t finding = 0;          // which of `findings` explains it
    };
    std::vector<Missed> missed;
    std::vector<Finding> findings;
    std::vector<RequestReview> requests;
    // The run is over, the client's last attempts were refused, and the tape had more for it:
    // it stopped trying.
    bool gave_up = false;
    std::string verdict;  // one line
};

// A client as the report sees it: its name, its log (a copy: the report is made off the network
// thread), and where its clock stands now.
struct ClientView {
    std::string name;
    ClientLog log;
    std::int64_t position_ns = 0;
    std::vector<schema::Subscription> live_subscriptions;  // of a connection still open
    // Whether real-time spans (reconnect delays, backoff, how soon a silence was noticed, whether
    // a request came while the stream was up, whether a ping's pong came before the connection
    // went on) belong in the report: at a real-time clock. At
    // --max-speed and on a virtual clock they are the machine's, not the tape's, and are left
    // out, so that the same client on the same tape gives the same report on every run.
    bool timed = true;
    // The run is over (the final report): a client that is not trying any more has stopped.
    bool over = false;
};

// Every client's report, from the logs and the tape: judged on the tape up to where each got.
std::vector<ClientReport> make_reports(schema::TapeStore& store, const TapePlan& plan,
                                       const std::vector<ClientView>& clients);

// Where a client was at tape time `t` ("while connection 0 was up", "while away between
// connections 0 and 1"), and k when it was away between connections k-1 and k.
std::pair<std::string, std::optional<std::size_t>> where_on_tape(const ClientLog& log,
                                                                 std::int64_t t);

// The reports as JSON (what `--report FILE` writes and /_mastotape/report serves), with each
// client's connections, reconnects, REST requests and pings from its log; `more` (a JSON
// object's members: the request journal, the expectations) is added at the top level.
std::string reports_json(const std::vector<ClientReport>& reports,
                         const std::vector<ClientView>& clients,
                         const nlohmann::ordered_json* more = nullptr);

// One test case of a JUnit document: failed when `failure` (its message) is set.
struct JunitCase {
    std::string classname;
    std::string name;
    std::optional<std::string> failure;
    std::string text;  // the failure's text
};

// A JUnit XML document: one test case per client (failed when it missed an item) and one per
// gap between its connections (failed when an item of it was missed), then `more`; `out`, when
// given, is the suite's <system-out> (the request journal, a line each).
std::string reports_junit(const std::vector<ClientReport>& reports,
                          const std::vector<ClientView>& clients,
                          const std::vector<JunitCase>& more = {}, const std::string& out = {});

}  // namespace mastotape::replay
