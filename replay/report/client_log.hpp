#pragma once

// What the replayer gave one client under test and what the client did, kept as it happens for
// `replay --report` (on the network thread): its connections and how each ended, the attempts
// refused before each, the events it was given on the stream (as runs of the tape's frame
// numbers: the report reads their items off the tape), the items served over REST (ids as
// integers), its REST requests, pings and pongs. Memory grows with what the client was sent and
// did, never with the tape: a connection that gets every event of its stream is one run.
// Beast-free.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay/replay_clock.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::replay {

// An item a client can be given: the event that brings it ("update", "status.update", "delete",
// "notification", "conversation") and its id.
using Item = std::pair<std::string, std::string>;

// Mastodon's ids are decimal integers: kept as one, when `id` is written as one (no sign, no
// leading zero) and fits; other ids (another server's) stay text.
std::optional<std::uint64_t> numeric_id(std::string_view id);

// The latest tape time each id was served at, over REST.
class IdTimes {
   public:
    void served(std::string_view id, std::int64_t at);
    std::optional<std::int64_t> latest(std::string_view id) const;

   private:
    std::map<std::uint64_t, std::int64_t> numeric_;
    std::map<std::string, std::int64_t, std::less<>> text_;
};

// How one of a client's connections ended.
enum class ConnectionEnd { open, tape, fault, client };
const char* to_string(ConnectionEnd how);

// The attempts a client made while away (refused ones, then the one that got through): how many,
// how soon the first came after the drop, and the delays between them, summed up as they come
// (memory stays the same however many).
class Attempts {
   public:
    // `from`: when the client went (its previous connection ended), if it had one.
    void start(std::optional<TimePoint> from);
    void add(TimePoint at);
    std::int64_t count() const { return count_; }
    std::int64_t delays() const { return delays_; }  // between attempts
    std::optional<SteadyClock::duration> first_delay() const { return first_delay_; }
    SteadyClock::duration min_delay() const { return min_; }
    SteadyClock::duration max_delay() const { return max_; }
    SteadyClock::duration span() const { return count_ ? last_ - first_ : SteadyClock::duration{}; }
    std::int64_t grew() const { return grew_; }
    // Spread of the delays (or, when they grow, of their ratios): standard deviation / mean.
    double spread() const;
    // One phrase: "hammered: 86 attempts in 2.00 s", "backed off: delays grew from 0.50 s to
    // 4.00 s, with jitter", "kept a delay of about 1.00 s, no jitter"; empty for fewer than 3
    // attempts.
    std::string pattern() const;

   private:
    std::optional<TimePoint> previous_;
    TimePoint first_{}, last_{};
    std::int64_t count_ = 0;
    std::int64_t delays_ = 0;  // delays measured
    std::optional<SteadyClock::duration> first_delay_, previous_delay_;
    SteadyClock::duration min_{}, max_{};
    std::int64_t grew_ = 0;
    double sum_ = 0, sum_sq_ = 0;              // of the delays, in seconds
    double ratio_sum_ = 0, ratio_sum_sq_ = 0;  // of each delay over the one before
    std::int64_t ratios_ = 0;
};

class ClientLog {
   public:
    struct Connection {
        TimePoint started{};
        std::int64_t tape_start = 0;
        std::optional<TimePoint> ended;
        std::int64_t tape_end = 0;  // where it had got on the tape
        ConnectionEnd how = ConnectionEnd::open;
        std::string recorded_end;  // the tape's end cause, when the tape ended it
        Attempts attempts;         // to open it: the refused ones and itself
        // The tape went silent (a recorded heartbeat timeout): whether the client noticed (left
        // on its own), after how long from the last frame.
        bool silent = false;
        std::optional<SteadyClock::duration> noticed_after;
        // The client left this soon after a heartbeat (a ping, a `:thump`) went out to it: it
        // could not take it.
        std::optional<SteadyClock::duration> left_after_heartbeat;
    };
    struct RestRequest {
        std::string target;  // path?query
        std::string event;   // what brings its items
        std::int64_t limit = 0;
        std::int64_t items = 0;
        std::string newest, oldest;  // the page's first and last ids
        std::int64_t tape_now = 0;
        std::size_t connections_before = 0;  // how many had started when it came
        bool stream_up = false;              // whether one was open
    };

    // Whether the items given are kept (for --report; off, the stream costs nothing here).
    void keep_items(bool on) { keep_items_ = on; }
    void attempt_refused(TimePoint at);
    void connection_started(TimePoint at, std::int64_t tape_start);
    void connection_ended(TimePoint at, std::int64_t tape_end, ConnectionEnd how,
                          std::string recorded_end,
                          const std::vector<schema::Subscription>& subscriptions);
    // Event frame `seq` of the tape went out whole to the client; or one did not (another
    // stream's, or spoiled by a fault).
    void streamed(std::int64_t seq);
    void not_streamed() { run_open_ = false; }
    // A REST page of `event` items with `ids`, at most `limit`, was served at tape time
    // `tape_now`.
    void rest_page(std::string target, std::string_view event, std::int64_t limit,
                   const std::vector<std::string>& ids, std::int64_t tape_now);
    // The connection that just ended went silent as recorded; `noticed`: after how long the
    // client left on its own (nullopt: it never did).
    void silence(std::optional<SteadyClock::duration> noticed);
    // The connection that just ended was left by the client `after` a heartbeat went out.
    void left_after_heartbeat(SteadyClock::duration after);
    void ping_sent() { ++pings_; }
    void pong_received() { ++pongs_; }

    const std::vector<Connection>& connections() const { return connections_; }
    // The event frames it was given: runs (first, last) of the tape's frame numbers with every
    // event frame between them given, in the order they went out.
    const std::vector<std::pair<std::int64_t, std::int64_t>>& streamed_runs() const {
        return runs_;
    }
    // The latest tape time `item` was served at over REST, if it was.
    std::optional<std::int64_t> served_over_rest(const Item& item) const;
    const std::vector<RestRequest>& rest_requests() const { return requests_; }
    const std::vector<schema::Subscription>& subscriptions() const { return subscriptions_; }
    // The attempts since the last connection, none of which got through.
    const Attempts& pending_attempts() const { return pending_; }
    std::int64_t pings() const { return pings_; }
    std::int64_t pongs() const { return pongs_; }

   private:
    // The ids served of one kind of item (a handful of kinds: a short list beats a map).
    struct Served {
        std::string event;
        IdTimes ids;
    };

    std::vector<Connection> connections_;
    std::vector<std::pair<std::int64_t, std::int64_t>> runs_;
    bool run_open_ = false;  // the last event frame went out, and runs_.back() ends with it
    std::vector<Served> served_;
    std::vector<RestRequest> requests_;
    std::vector<schema::Subscription> subscriptions_;  // every one the client used
    Attempts pending_;
    std::int64_t pings_ = 0;
    std::int64_t pongs_ = 0;
    bool keep_items_ = false;
};

}  // namespace mastotape::replay
