#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "replay/replay_server.hpp"
#include "schema/formats/scratch_tape.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/text/byte_codec.hpp"
#include "tools/commands.hpp"
#include "tools/listen_address.hpp"
#include "tools/output_file.hpp"

namespace mastotape::tools {
namespace {

struct ReplayCommandOptions {
    std::string tape;
    std::string db;
    replay::ReplayOptions replay;
    std::string listen = "127.0.0.1:0";
    bool max_speed = false;
    bool virtual_clock = false;
    bool allow_remote = false;
    bool no_synth_heartbeats = false;
    std::string port_file;
    std::string require_token_file;
    std::vector<std::string> faults;
    std::string report;  // the client report's JSON file
    std::string junit;   // and its JUnit XML
    bool fail_on_missed = false;
};

// After the replay: the verdict on its clients, as the options ask; the exit code it makes.
int report_on_clients(replay::ReplayServer& server, const ReplayCommandOptions& o, int code) {
    if (!o.replay.client_report) {
        return code;
    }
    const replay::ReplayReport r = server.report();
    if (!o.report.empty()) {
        write_output(o.report, [&](std::ostream& out) { out << r.json; });
    }
    if (!o.junit.empty()) {
        write_output(o.junit, [&](std::ostream& out) { out << r.junit; });
    }
    if (o.replay.exit_when_done) {
        for (const auto& v : r.verdicts) {
            std::cerr << "replay: " << schema::printable(v) << '\n';
        }
    }
    for (const auto& u : r.unmet) {
        std::cerr << "replay: expectation unmet: " << schema::printable(u) << '\n';
    }
    return code == 0 && o.fail_on_missed && (r.missed || !r.unmet.empty()) ? 1 : code;
}

int run_replay(ReplayCommandOptions& o) {
    std::string listen_error;
    const auto listen = tools::parse_listen_address(o.listen, listen_error);
    if (!listen) {
        std::cerr << "mastotape replay: --listen: " << listen_error << '\n';
        return kExitUsage;
    }
    o.replay.host = listen->host;
    o.replay.port = listen->port;
    if (!listen->loopback && !o.allow_remote) {
        std::cerr << "mastotape replay: " << o.replay.host
                  << " is not a loopback address; pass --allow-remote to serve other machines\n";
        return kExitUsage;
    }
    if (!listen->loopback) {
        std::cerr << "mastotape replay: warning: serving on " << o.replay.host
                  << ", reachable from other machines\n";
    }
    if (o.max_speed && o.virtual_clock) {
        std::cerr << "mastotape replay: choose one of --max-speed and --virtual-clock\n";
        return kExitUsage;
    }
    o.replay.synth_heartbeats = !o.no_synth_heartbeats;
    o.replay.clock = o.max_speed       ? replay::ClockMode::max_speed
                     : o.virtual_clock ? replay::ClockMode::virtual_clock
                                       : replay::ClockMode::realtime;
    if (o.replay.speed <= 0) {
        std::cerr << "mastotape replay: --speed must be positive\n";
        return kExitUsage;
    }
    for (const auto& spec : o.faults) {
        std::string error;
        auto fault = replay::parse_fault(spec, error);
        if (!fault) {
            std::cerr << "mastotape replay: " << error << '\n';
            return kExitUsage;
        }
        o.replay.faults.push_back(*fault);
    }
    if (o.replay.tls_cert.empty() != o.replay.tls_key.empty()) {
        std::cerr << "mastotape replay: --tls-cert and --tls-key go together\n";
        return kExitUsage;
    }
    if (!o.require_token_file.empty()) {
        std::ifstream in(o.require_token_file);
        if (!in || !std::getline(in, o.replay.require_token)) {
            throw schema::TapeError(o.require_token_file + ": cannot read the token");
        }
    }
    std::unique_ptr<schema::ScratchTape> temporary;
    if (schema::is_jsonl_path(o.tape)) {
        temporary = std::make_unique<schema::ScratchTape>(o.tape);
        o.replay.tape = temporary->path();
    } else {
        o.replay.tape = o.tape.empty() ? resolve_db(o.db) : o.tape;
    }
    o.replay.client_report =
        !o.report.empty() || !o.junit.empty() || o.fail_on_missed || !o.replay.expect_file.empty();
    std::optional<replay::ReplayServer> server;
    try {
        server.emplace(o.replay);
    } catch (const schema::TapeError& e) {
        if (!temporary) {
            throw;
        }
        // The temporary tape is ours, not the user's: name the file they gave.
        throw schema::TapeError(temporary->in_users_words(e.what()));
    }
    if (!o.port_file.empty()) {
        // Whole or not at all: a CI script waiting for a non-empty file reads the whole port.
        write_output(o.port_file, [&](std::ostream& out) { out << server->port() << '\n'; });
    }
    std::cout << "listening " << server->base_url() << std::endl;
    const int code = server->run();
    return report_on_clients(*server, o, code);
}

}  // namespace

void add_replay_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<ReplayCommandOptions>();
    auto* sub = app.add_subcommand(
        "replay",
        "Serve a recorded session as a Mastodon streaming server (WebSocket, SSE, instance)");
    sub->add_option("TAPE", o->tape, "A SQLite tape or a JSONL tape (default: --db)");
    add_db_option(*sub, o->db);
    sub->add_option("--session", o->replay.session_id, "Session id (default: the newest)");
    sub->add_option("--listen", o->listen, "HOST:PORT to bind; port 0 picks a free one")
        ->capture_default_str();
    sub->add_flag("--allow-remote", o->allow_remote, "Allow binding a non-loopback address");
    sub->add_option("--port-file", o->port_file, "Write the bound port to this file");
    sub->add_option("--speed", o->replay.speed,
                    "Play the tape's schedule this many times faster (the schedule rules: a "
                    "client that leaves, or reconnects later than the recorder did, has lost "
                    "what was streamed meanwhile)")
        ->capture_default_str();
    sub->add_flag("--max-speed", o->max_speed,
                  "Client-paced: frames as fast as each client takes them, once it has "
                  "subscribed to what the recording carried; a recorded gap lasts until it "
                  "comes back; the same client gets the same report on every run");
    sub->add_flag("--virtual-clock", o->virtual_clock,
                  "Time moves only through /_mastotape/clock/advance and run-to; nothing waits "
                  "in real time (wait until the client is subscribed, then move it)");
    sub->add_flag("--shared-clock", o->replay.shared_clock,
                  "One broadcast timeline for every client instead of a cursor each");
    sub->add_flag("--loop", o->replay.loop, "Start the tape over after its last connection");
    sub->add_flag("--hold", o->replay.hold, "Keep the last connection open and silent at the end");
    sub->add_flag("--exit-when-done", o->replay.exit_when_done,
                  "Exit once the clients are done: no stream open and no connection or request "
                  "for --exit-grace seconds (a client that read what it wanted and left is "
                  "done; it is judged on the whole tape)");
    sub->add_option("--exit-grace", o->replay.exit_grace_s,
                    "With --exit-when-done: how long a client that left may take to come back "
                    "(longer for a client that backs off longer)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--idle-timeout", o->replay.idle_timeout_s,
                    "With --exit-when-done: exit 1 if no client connects within this many seconds");
    sub->add_option("--timeout", o->replay.timeout_s,
                    "Exit 1 with a line saying so after this many seconds, done or not: a CI job "
                    "never hangs on the replayer")
        ->check(CLI::PositiveNumber);
    sub->add_option("--silence", o->replay.silence_s,
                    "At --max-speed: how many seconds a recorded silence (a connection the "
                    "recorder's watchdog ended) lasts before it ends as recorded")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--require-token-file", o->require_token_file,
                    "Accept only the token in this file (401 with X-Error-Message otherwise)");
    sub->add_flag("--kill-unresponsive", o->replay.kill_unresponsive,
                  "Drop a WebSocket client that has not answered the previous ping with a pong "
                  "(no close frame), as Mastodon does");
    sub->add_flag("--no-synth-heartbeats", o->no_synth_heartbeats,
                  "Send no heartbeats the tape does not have: by default a WebSocket tape over "
                  "SSE gets :thump every 15 s where it has pings, an SSE tape over WebSocket a "
                  "ping every 30 s where it has :thump");
    sub->add_flag("--legacy-thump", o->replay.legacy_thump,
                  "Send the pre-4.6 SSE heartbeat `:thump\\n` instead of `:thump\\n\\n`");
    sub->add_option("--fault", o->faults,
                    "Fault overlay keyed to the tape (repeatable): drop-after=N, close-at=T:CODE, "
                    "stall=T:SECONDS, refuse=K[:STATUS], rest-error=K[:STATUS], malformed-at=N, "
                    "oversize-at=N, slow=BYTES_PER_S");
    sub->add_option("--report", o->report,
                    "Write the verdict on each client (items missed, reconnects, pings) to this "
                    "JSON file when the replay ends; live at /_mastotape/report");
    sub->add_option("--junit", o->junit,
                    "Write the verdict as JUnit XML (a test case per client and per gap)");
    sub->add_flag("--fail-on-missed", o->fail_on_missed,
                  "Exit 1 when a client missed an item the tape made available, or an "
                  "--expect expectation is unmet");
    sub->add_option("--stub", o->replay.stub_file,
                    "Answer the requests it matches from this JSON or YAML file of stubs (first "
                    "match wins; before the replayer's own routes); reload at /_mastotape/stubs")
        ->check(CLI::ExistingFile);
    sub->add_option("--expect", o->replay.expect_file,
                    "Judge the clients' requests against this JSON or YAML file of expectations "
                    "when the replay ends (in --report, --junit, and stderr)")
        ->check(CLI::ExistingFile);
    sub->add_option("--rate-limit", o->replay.rate_limit,
                    "Answer REST requests beyond this many per 5 minutes per token with 429");
    sub->add_option("--tls-cert", o->replay.tls_cert,
                    "Serve TLS (wss://, https://) with this PEM certificate chain; clients trust "
                    "its CA (mastotape record --cacert)");
    sub->add_option("--tls-key", o->replay.tls_key, "The PEM private key of --tls-cert");
    sub->add_option("--instance-version", o->replay.version,
                    "Version the instance endpoints report")
        ->capture_default_str();
    sub->callback([o, &run] { run = [o] { return run_replay(*o); }; });
}

}  // namespace mastotape::tools
