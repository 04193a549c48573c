#pragma once

// Who the replayer's clients are and where each one is on the tape (DESIGN section 4):
// a client is known by its token (without one, by none: the anonymous client; with a shared clock,
// everybody is one client), and its connections follow the recorded ones: its first attempt plays
// the first recorded connection; when a recorded connection ended the client's connection as the
// tape did, the client moves to the next one. At a real-time clock the tape's schedule rules: in a
// recorded gap the client's attempts fail as the recorded attempts failed until the last of them;
// a client that comes back after that and before the recorded handshake gets the recorded
// connection from its handshake at once (its clock moves on to it); a client that comes back
// later than the recording did joins the connection where its clock stands, and what the server
// streamed before is lost from the stream, as on a real server (it is in REST when the tape has
// it). A connection that the client ended, or a fault overlay cut short, is not the recorded end:
// the next attempt resumes it where the client's clock stands, unless the clock passed the
// recorded end meanwhile. At --max-speed a gap lasts until the client comes back. Beast-free;
// network thread only.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "replay/faults.hpp"
#include "replay/replay_clock.hpp"
#include "replay/report/client_report.hpp"
#include "replay/report/lateness.hpp"
#include "replay/tape_plan.hpp"

namespace mastotape::replay {

// What one client (one token) has played of the tape.
struct ClientState {
    std::string name;                // "client N", never the token
    std::size_t next = 0;            // the recorded connection its next attempt plays
    TimePoint gap_until{};           // realtime: attempts before this fail as recorded
    std::size_t refused_in_gap = 0;  // attempts refused in the current gap
    bool finished = false;           // played the last connection
    int live = 0;                    // open connections
    std::vector<schema::Subscription> subscriptions;  // of the newest live connection
    std::uint64_t frames_sent = 0;            // WebSocket frames or SSE blocks, all connections
    std::optional<std::int64_t> position_ns;  // tape time of the last tape frame played to it
    LatenessSummary lateness;                 // of its frames at a real-time clock
    // The client's replay clock. Where REST stands from a connection's start: at --max-speed until
    // the client's next connection or the tape's closing (unset: as far as the stream has gone),
    // since the stream outruns any client; at a real-time clock until the clock passes it. After a
    // gap it is where the recording's backfill had fetched, so a client's backfill gets what the
    // recorded one got however soon it asks.
    ClientClock clock;
    // The connection ended before the tape ended it: the next attempt resumes it at this tape
    // time (at a real-time clock, where the client's clock stands then).
    std::optional<std::int64_t> resume_at;
    // The live connection that has sent all its frames and is only ending (a heartbeat
    // timeout's silence, say), and one that a new attempt found so and counted as played.
    std::optional<std::size_t> ending;
    std::optional<std::size_t> superseded;
    // REST rate limiting: requests in the current 5-minute window.
    std::int64_t window_requests = 0;
    std::chrono::system_clock::time_point window_end{};
    // Counts /_mastotape/reset: a connection from before a reset no longer moves the client.
    std::uint64_t generation = 0;
    // What it was given and did, for the report (started over by a reset).
    ClientLog log;
};

// The answer to a connection attempt.
struct Admitted {
    bool ok = false;
    std::size_t connection = 0;  // the recorded connection to play
    std::int64_t start = 0;      // where on the tape it starts (start_of, at the admission)
    int status = 503;  // refused: 0 when the recorded attempt got no HTTP answer (reset, TLS...)
    std::string error_message;
};

class Admission {
   public:
    // `plan` and `clock` must outlive the object.
    // `report`: the clients' logs keep the items each was given (for --report).
    Admission(const TapePlan& plan, const ReplayClock& clock, bool loop, bool report = false);

    // The client a token names (created on first sight).
    ClientState& client(const std::string& token);
    const std::map<std::string, ClientState>& clients() const { return clients_; }
    bool keeps_items() const { return report_; }

    // Admits or refuses an attempt of `c`.
    Admitted admit(ClientState& c);
    // Refuses the next `n` attempts of anybody with `status` (the refuse=K:STATUS fault).
    void refuse_next(std::int64_t n, int status = 503) { refusals_.add(n, status); }
    std::int64_t refusing() const { return refusals_.remaining(); }
    // Answers the next `n` REST requests of anybody with `status` (rest-error=K:STATUS).
    void refuse_rest(std::int64_t n, int status) { rest_refusals_.add(n, status); }
    std::int64_t refusing_rest() const { return rest_refusals_.remaining(); }
    // The status to answer this REST request with, when one is to be refused (counted).
    std::optional<int> rest_refusal() { return rest_refusals_.take(); }
    void stop_refusing() {
        refusals_.clear();
        rest_refusals_.clear();
    }

    // Where a connection of `c` playing recorded connection `k` starts on the tape: its handshake,
    // the one timeline's now, where a fault overlay cut the previous connection short, or at a
    // real-time clock where the client's clock stands when that is later (the resume point is
    // used up: the next call gives the handshake again). admit() fixes it before the client hears
    // it is connected: a clock moved after the handshake moves it no more.
    std::int64_t start_of(ClientState& c, std::size_t k);
    // The connection of `c` playing `k` started at tape time `start`: the client's clock and its
    // REST view follow it.
    void started(ClientState& c, std::size_t k, std::int64_t start);
    // Recorded connection `k` of `c` ended as recorded.
    void played(ClientState& c, std::size_t k);
    // A fault overlay cut `c`'s connection short after the frame at `last_offset`: its next
    // attempt goes on with the same recorded connection. The clock keeps running meanwhile, so
    // what it misses is what a real disconnect would make it miss.
    void cut_short(ClientState& c, std::int64_t last_offset);
    // The client ended its connection playing `k` (or it failed under it) after the frame at
    // `last_offset`, before the tape ended it: its next attempt goes on with the same recorded
    // connection where its clock then stands. The clock runs on meanwhile at a real-time clock
    // (a recorded end it passes happened while the client was away); at --max-speed it waits. A
    // connection a newer attempt already counted as played (superseded) moves nothing.
    void left(ClientState& c, std::size_t k, std::int64_t last_offset);

    // Starts the named client over ("" : every client); returns how many were reset.
    int reset(const std::string& name);

   private:
    Admitted decide(ClientState& c);
    Admitted refuse_in_gap(ClientState& c, std::size_t next);
    void catch_up(ClientState& c);
    // At a real-time clock: from tape time `now`, away from the tape, `c` waits for recorded
    // connection `k`: its attempts fail until the gap's last recorded failure, then the next one
    // joins `k` where the client's clock then stands.
    void await_connection(ClientState& c, std::size_t k, std::int64_t now);

    const TapePlan& plan_;
    const ReplayClock& clock_;
    bool loop_;
    bool report_;
    std::map<std::string, ClientState> clients_;
    Refusals refusals_;
    Refusals rest_refusals_;
};

}  // namespace mastotape::replay
