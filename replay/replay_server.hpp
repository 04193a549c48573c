#pragma once

// A local server that speaks Mastodon's streaming protocol and plays one session of a tape:
// WebSocket at /api/v1/streaming, SSE at the paths of mastodon-streaming.md section 1.2, the REST
// timelines, the instance and health endpoints, and a control API under /_mastotape/. Runs on one
// thread (REST pages are read on a second); every client connection is a coroutine.
//
// The rooms: replay_server accepts and routes; replay_clock is the replay's sense of time;
// admission says who a client is and which recorded connection it plays; player plays a recorded
// connection through an outlet (websocket_outlet, sse_outlet); control_api and rest_timelines
// answer their requests. Beast stays inside the .cpp files.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mastotape/replayer.hpp"
#include "replay/control_api.hpp"
#include "replay/faults.hpp"
#include "replay/replay_clock.hpp"

namespace mastotape::replay {

struct ReplayOptions {
    std::string tape;             // path of a SQLite tape
    std::int64_t session_id = 0;  // 0: the newest session
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port
    ClockMode clock = ClockMode::realtime;
    double speed = 1.0;
    bool loop = false;               // after the last connection, start the tape over
    bool hold = false;               // after the last frame, keep the connection open and silent
    bool exit_when_done = false;     // stop once the clients are done: no stream open, and no
                                     // connection or request for exit_grace_s
    double exit_grace_s = 2;         // how long a client that left may take to come back
    bool client_report = false;      // keep what each client was given, for report()
    double idle_timeout_s = 0;       // with exit_when_done: fail when nobody connects in time
    double timeout_s = 0;            // > 0: stop with exit code 1 after this long, done or not
    double silence_s = 2;            // at --max-speed: how long a recorded silence lasts
    std::string require_token;       // non-empty: reject other tokens as the real server does
    bool shared_clock = false;       // one broadcast timeline for every client
    bool synth_heartbeats = true;    // a tape of the other transport gets this one's heartbeats
    bool legacy_thump = false;       // send the pre-4.6 SSE heartbeat `:thump\n`
    bool kill_unresponsive = false;  // drop a client that missed a ping's pong, as Mastodon does
    std::string version = "4.7.0";   // reported by the instance endpoints
    std::vector<Fault> faults;       // overlays, also settable through /_mastotape/faults
    std::int64_t rate_limit = 0;     // > 0: REST requests per 5 minutes per token, then 429
    std::string tls_cert;            // PEM certificate chain: serve TLS (wss://, https://)
    std::string tls_key;             // PEM private key of tls_cert
    bool handle_signals = true;      // SIGINT and SIGTERM stop run() (not in a host's process)
    std::string stub_file;           // answers for other routes (stubs.hpp)
    std::string expect_file;         // what the client must do (report/expectations.hpp)
};

// The verdict on the clients (`replay --report`): the public header's.
using ReplayReport = mastotape::ReplayerReport;

class ReplayServer {
   public:
    // Opens the tape and binds the listening socket; throws TapeError or std::system_error.
    explicit ReplayServer(ReplayOptions options);
    ~ReplayServer();
    ReplayServer(const ReplayServer&) = delete;
    ReplayServer& operator=(const ReplayServer&) = delete;

    std::uint16_t port() const;
    // ws://HOST:PORT, or wss:// with TLS
    std::string base_url() const;
    // Serves until stop(), a signal (SIGINT/SIGTERM), timeout_s or, with exit_when_done, the
    // clients' end. Returns the process exit code: 0, or 1 when idle_timeout_s passed with no
    // client or timeout_s passed.
    int run();
    // Thread-safe; makes run() return.
    void stop();
    // Thread-safe, while run() runs: the control API's answer to `path` (/_mastotape/...) with
    // `query` (and a POST's `body`), as /_mastotape/ over HTTP gives it. Throws
    // std::runtime_error when the server does not answer within 10 s.
    ControlAnswer control(std::string path, std::string query, std::string body = {});
    // control("/_mastotape/status", "")'s JSON text.
    std::string status();
    // After run() has returned: the report on every client (with client_report).
    ReplayReport report();

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape::replay
