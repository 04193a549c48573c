#pragma once

// mastotape's replayer inside a C++ test: a Mastodon streaming server on 127.0.0.1, playing a
// recorded session, on a thread of its own. Only the standard library is needed to use it:
//
//     find_package(mastotape CONFIG REQUIRED)
//     target_link_libraries(my_tests PRIVATE mastotape::replay)
//
//     mastotape::ReplayerOptions options;
//     options.tape = "fixtures/direct.jsonl";
//     mastotape::Replayer replayer(options);
//     my_client.connect(replayer.url() + "/api/v1/streaming?stream=direct");
//     replayer.wait_for_client();            // connected and subscribed
//     replayer.advance_ms(30'000);          // the virtual clock: nothing plays until it moves
//     mastotape::ReplayerStatus status = replayer.status();  // clock, clients, connections
//     replayer.expect(R"([{"request": {"path": "/api/v1/statuses"}, "at_least": 1}])");
//     mastotape::ReplayerReport r = replayer.stop();
//     CHECK_FALSE(r.missed);
//     CHECK(r.unmet.empty());
//
// The contract:
// * The constructor opens the tape (a SQLite tape, or a JSONL fixture imported into a temporary
//   tape that goes with the object), binds a free port on 127.0.0.1 and starts serving before it
//   returns: url() can be given to a client at once. It throws std::runtime_error with a one-line
//   message (naming the file) for a tape it cannot play, and leaves nothing behind.
// * The replayer serves what `mastotape replay` serves (mastodon-streaming.md): WebSocket at
//   /api/v1/streaming, SSE at /api/v1/streaming/..., the REST timelines, the instance endpoints,
//   and the control API at /_mastotape/. It never touches the process's signal handlers.
// * On the virtual clock every client shares one timeline, as clients of a live server do: a
//   connection starts where the clock stands when the server accepts it (its 101 or its SSE
//   head), and what the tape held before that is the REST timelines' to give, not the stream's.
//   Connect, wait_for_client() (connected and subscribed), then move the clock.
// * Every member function may be called from any thread. Those that talk to the running server
//   (advance_ms, run_to_seq, pause, resume, add_fault, status, report, control) throw
//   std::logic_error after stop(), std::invalid_argument for a request the control API refuses
//   (its message is the API's), and std::runtime_error when the server does not answer in 10 s.
// * stop() closes every connection, ends the thread and returns the verdict on the clients; a
//   second call returns the same verdict. If the server's thread failed, the first stop() throws
//   std::runtime_error saying why. The destructor stops a replayer not yet stopped.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mastotape {

enum class ReplayerClock {
    virtual_clock,  // time moves only through advance_ms() and run_to_seq(): deterministic
    max_speed,      // frames go as fast as each client takes them
    realtime,       // the tape's own schedule (times `speed`)
};

struct ReplayerOptions {
    std::string tape;          // a SQLite tape, or a JSONL tape (name ending in .jsonl)
    std::int64_t session = 0;  // 0: the tape's newest session
    ReplayerClock clock = ReplayerClock::virtual_clock;
    double speed = 1.0;               // with realtime
    std::vector<std::string> faults;  // as `replay --fault`: "drop-after=3", "slow=2000", ...
    std::string require_token;        // non-empty: other tokens get 401, as Mastodon answers
    bool shared_clock = false;        // one broadcast timeline for every client
    bool hold = false;                // keep the last connection open and silent at the end
    bool loop = false;                // start the tape over after its last connection
    std::string stubs;                // a stub file (JSON or YAML), as `replay --stub`
    std::string expect;               // an expectation file, as `replay --expect`
};

// One client of the replayer (one token), as /_mastotape/status shows it.
struct ReplayerClient {
    std::string name;                        // "client 1": never its token
    int live = 0;                            // open connections
    bool subscribed = false;                 // a live connection with a subscription
    bool finished = false;                   // played the tape's last connection
    std::uint64_t frames_sent = 0;           // over all its connections
    std::vector<std::string> subscriptions;  // stream labels as JSON arrays: ["hashtag","rust"]
};

// The replayer's state (/_mastotape/status; status_json() has all of it).
struct ReplayerStatus {
    std::string clock;                // "virtual", "max-speed" or "realtime"
    std::int64_t tape_offset_ns = 0;  // where the one timeline stands
    int live_connections = 0;
    bool paused = false;
    std::vector<ReplayerClient> clients;
};

// What each client was given and what it missed (`replay --report`).
struct ReplayerReport {
    std::string json;                   // the report document, as `replay --report FILE` writes
    std::string junit;                  // the same as JUnit XML
    std::vector<std::string> verdicts;  // one line per client
    bool missed = false;                // whether any client missed an item the tape offered
    std::vector<std::string> unmet;     // one line per unmet expectation (expect())
};

class Replayer {
   public:
    explicit Replayer(const ReplayerOptions& options);
    ~Replayer();
    Replayer(const Replayer&) = delete;
    Replayer& operator=(const Replayer&) = delete;

    std::uint16_t port() const;
    // "ws://127.0.0.1:PORT": the streaming API's base (append /api/v1/streaming).
    std::string url() const;
    // "http://127.0.0.1:PORT": for REST clients and the control API.
    std::string http_url() const;

    // The virtual clock: moves it forward `ms` milliseconds, or to the frame with sequence
    // number `seq`; the tape's position after it, in nanoseconds from the session's start.
    std::int64_t advance_ms(double ms);
    std::int64_t run_to_seq(std::int64_t seq);
    void pause();
    void resume();
    // Adds a fault overlay, as `replay --fault SPEC` does.
    void add_fault(const std::string& spec);
    // Waits until `clients` clients are connected and subscribed (their query string's stream, or a
    // subscribe frame read): the moment to move a virtual clock. Throws std::runtime_error saying
    // what it saw when that takes longer than `timeout_s`.
    void wait_for_client(int clients = 1, double timeout_s = 10);
    // The replayer's state, and the control API's status document (/_mastotape/status) whole.
    ReplayerStatus status();
    std::string status_json();
    // The report so far (/_mastotape/report) as JSON text.
    std::string report();
    // Any control API request: `path` under /_mastotape/, `query` without '?'; the JSON answer.
    std::string control(const std::string& path, const std::string& query = "");

    // Bots under test. Every request the clients made, as {"requests": [...]} (who, when on its
    // replay clock, method, path, query, body without the token, the answer's status).
    std::string requests();
    // Adds expectations (a JSON or YAML document: a list, as `replay --expect` reads), judged
    // when the replayer stops (ReplayerReport::unmet) or now by expectations(). Throws
    // std::invalid_argument with the document's fault.
    void expect(const std::string& document);
    // The expectations judged now: {"expectations": [{"name", "met", "unmet": [...]}, ...]}.
    std::string expectations();
    // Replaces the stubs (a JSON or YAML document, as `replay --stub` reads).
    void set_stubs(const std::string& document);

    ReplayerReport stop();

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape
