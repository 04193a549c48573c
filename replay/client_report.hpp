#pragma once

// The verdict on a client under test (`replay --report`): what the replayer gave each client and
// what the client did, kept as it happens (ClientLog, one per client, on the network thread), and
// the report made from it and the tape: the items the tape made available on the client's
// streams up to where it got, and for each whether it came on the stream, over REST, both, or
// never (with where it was: while which connection was away); its connections and how each
// ended; the delay to each next attempt and the attempts refused meanwhile; pings and pongs.
// Beast-free.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "replay/replay_clock.hpp"
#include "replay/tape_plan.hpp"
#include "schema/model.hpp"
#include "schema/tape_store.hpp"

namespace mastotape::replay {

// An item a client can be given: the event that brings it ("update", "status.update", "delete",
// "notification", "conversation") and its id.
using Item = std::pair<std::string, std::string>;

// How one of a client's connections ended.
enum class ConnectionEnd { open, tape, fault, client };

class ClientLog {
   public:
    struct Connection {
        TimePoint started{};
        std::int64_t tape_start = 0;
        std::optional<TimePoint> ended;
        std::int64_t tape_end = 0;  // where it had got on the tape
        ConnectionEnd how = ConnectionEnd::open;
        std::string recorded_end;         // the tape's end cause, when the tape ended it
        std::int64_t refused_before = 0;  // attempts refused since the previous connection
        // The tape went silent (a recorded heartbeat timeout): whether the client noticed (left
        // on its own), after how long from the last frame.
        bool silent = false;
        std::optional<SteadyClock::duration> noticed_after;
    };
    struct RestRequest {
        std::string target;  // path?query
        std::int64_t items = 0;
        std::int64_t tape_now = 0;
    };

    // Whether the items given are kept (for --report; off, the stream costs nothing here).
    void keep_items(bool on) { keep_items_ = on; }
    void attempt_refused() { ++refused_since_last_; }
    void connection_started(TimePoint at, std::int64_t tape_start);
    void connection_ended(TimePoint at, std::int64_t tape_end, ConnectionEnd how,
                          std::string recorded_end,
                          const std::vector<schema::Subscription>& subscriptions);
    void streamed(const std::string& event, const std::string& id) {
        if (keep_items_) {
            streamed_.insert({event, id});
        }
    }
    // A REST page of `event` items with `ids` was served at tape time `tape_now`.
    void rest_page(const std::string& target, const std::string& event,
                   const std::vector<std::string>& ids, std::int64_t tape_now);
    // The connection that just ended went silent as recorded; `noticed`: after how long the
    // client left on its own (nullopt: it never did).
    void silence(std::optional<SteadyClock::duration> noticed);
    void ping_sent() { ++pings_; }
    void pong_received() { ++pongs_; }

    const std::vector<Connection>& connections() const { return connections_; }
    const std::set<Item>& streamed_items() const { return streamed_; }
    // Each item served over REST, with the latest tape time it was served at.
    const std::map<Item, std::int64_t>& rest_items() const { return rest_; }
    const std::vector<RestRequest>& rest_requests() const { return requests_; }
    const std::vector<schema::Subscription>& subscriptions() const { return subscriptions_; }
    std::int64_t refused_since_last() const { return refused_since_last_; }
    std::int64_t pings() const { return pings_; }
    std::int64_t pongs() const { return pongs_; }

   private:
    std::vector<Connection> connections_;
    std::set<Item> streamed_;
    std::map<Item, std::int64_t> rest_;
    std::vector<RestRequest> requests_;
    std::vector<schema::Subscription> subscriptions_;  // every one the client used
    std::int64_t refused_since_last_ = 0;
    std::int64_t pings_ = 0;
    std::int64_t pongs_ = 0;
    bool keep_items_ = false;
};

// One client's report.
struct ClientReport {
    std::string name;
    std::int64_t available = 0;
    std::int64_t on_stream = 0;  // of the available, got on the stream only
    std::int64_t over_rest = 0;  // over REST only
    std::int64_t both = 0;       // both: a duplicate the client must drop
    struct Missed {
        Item item;
        std::int64_t offset_ns = 0;  // when the tape made it available
        std::string where;           // e.g. "while away between connections 1 and 2"
    };
    std::vector<Missed> missed;
    std::string verdict;  // one line
};

// A client as the report sees it: its name, its log, and where its clock stands now.
struct ClientView {
    std::string name;
    const ClientLog* log = nullptr;
    std::int64_t position_ns = 0;
    std::vector<schema::Subscription> live_subscriptions;  // of a connection still open
};

// Every client's report, from the logs and the tape: judged on the tape up to where each got.
std::vector<ClientReport> make_reports(schema::TapeStore& store, const TapePlan& plan,
                                       const std::vector<ClientView>& clients);

// The reports as JSON (what `--report FILE` writes and /_mastotape/report serves), with each
// client's connections, reconnects, REST requests and pings from its log.
std::string reports_json(const std::vector<ClientReport>& reports,
                         const std::vector<ClientView>& clients);

// A JUnit XML document: one test case per client (failed when it missed an item) and one per
// gap between its connections (failed when an item of it was missed).
std::string reports_junit(const std::vector<ClientReport>& reports,
                          const std::vector<ClientView>& clients);

}  // namespace mastotape::replay
