#include "replay/replay_server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "replay/client_protocol.hpp"
#include "replay/frame_convert.hpp"
#include "replay/frame_window.hpp"
#include "replay/lateness.hpp"
#include "replay/rest_timelines.hpp"
#include "replay/server_stream.hpp"
#include "replay/tape_plan.hpp"
#include "schema/background_thread.hpp"
#include "schema/json_text.hpp"
#include "schema/tape_store.hpp"

namespace mastotape::replay {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using schema::FrameKind;
using WebSocket = websocket::stream<ServerStream&>;

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr std::int64_t kSec = 1'000'000'000;
constexpr auto kRequestDeadline = std::chrono::seconds(30);
// How long a client has to refuse an oversize-at frame before its connection's end is played.
constexpr auto kOversizeGrace = std::chrono::seconds(5);
// The payload of an oversize-at frame: over the recorder's default --max-frame of 16 MiB.
constexpr std::size_t kOversize = 17 * 1024 * 1024;
// With --kill-unresponsive, how long a ping's pong is waited for when the next ping is due sooner.
constexpr auto kPongGrace = std::chrono::seconds(1);

// Reports network errors that are not the ordinary ends of a connection.
void fail(beast::error_code ec, const char* what) {
    if (ec == net::error::operation_aborted || ec == websocket::error::closed ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == beast::error::timeout || ec == http::error::end_of_stream ||
        ec == net::ssl::error::stream_truncated) {
        return;
    }
    std::cerr << "replay: " << what << ": " << ec.message() << '\n';
}

std::string random_uuid() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t a = rng();
    return schema::format_uuid_v4(a, rng());
}

// What one client (one token) has played of the tape.
struct ClientState {
    std::string name;                // "client N", never the token
    std::size_t next = 0;            // the recorded connection its next attempt plays
    Clock::time_point gap_until{};   // realtime: attempts before this fail as recorded
    std::size_t refused_in_gap = 0;  // attempts refused in the current gap
    bool finished = false;           // played the last connection
    int live = 0;                    // open connections
    std::vector<schema::Subscription> subscriptions;  // of the newest live connection
    // The client's replay clock: `clock_offset` was the tape time at `clock_at`.
    std::int64_t clock_offset = 0;
    Clock::time_point clock_at{};
    bool clock_started = false;
    // Where REST stands from a connection's start: at --max-speed until the client's next
    // connection or the tape's closing (unset: as far as the stream has gone), since the stream
    // outruns any client; at a real-time clock until the clock passes it. After a gap it is where
    // the recording's backfill had fetched, so a client's backfill gets what the recorded one
    // got however soon it asks.
    std::optional<std::int64_t> rest_at;
    // A fault overlay cut the connection short: the next attempt resumes it at this tape time.
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
};

// One live connection's place in time and its wake-up timer.
struct LiveConnection {
    explicit LiveConnection(net::any_io_executor ex) : wake(ex) {}
    net::steady_timer wake;
    Clock::time_point r0{};  // realtime: when the tape offset `base` was played
    std::int64_t base = 0;
    bool closed = false;
    std::deque<std::string> pending;  // error frames to send, in order
    bool close_1003 = false;
    bool reader_done = true;  // false while a reader coroutine still points at this connection
    std::map<std::string, bool> matched_labels;  // stream label -> subscribed; cleared on changes
    std::vector<schema::Subscription> subscriptions;
    // Causality: the next frame waits until the client has sent as many text messages as the
    // recorded client had before it (its subscribes; at least one while it has no subscription),
    // or until `client_deadline`.
    std::size_t client_texts = 0;
    std::size_t needed_texts = 0;
    Clock::time_point client_deadline{};
    bool cut_short = false;  // a fault overlay, not the tape, ended it: the client resumes it
    // --kill-unresponsive: when the last ping went out, and whether a pong came since.
    std::optional<Clock::time_point> pinged_at;
    bool ponged = false;
};

websocket::ping_data ping_payload(const std::string& bytes) {
    const std::size_t n =
        std::min<std::size_t>(bytes.size(), websocket::ping_data::static_capacity);
    return websocket::ping_data(bytes.data(), n);
}

struct Admission {
    bool ok = false;
    std::size_t connection = 0;
    int status = 503;  // 0: the recorded attempt got no HTTP answer (refused, reset, TLS...)
    std::string error_message;
};

}  // namespace

struct ReplayServer::Impl {
    explicit Impl(ReplayOptions o)
        : options(std::move(o)),
          store(options.tape, schema::OpenMode::read),
          rest_store(options.tape, schema::OpenMode::read),
          acceptor(ioc),
          signals(ioc, SIGINT, SIGTERM),
          vt_timer(ioc) {
        const std::int64_t id =
            options.session_id != 0 ? options.session_id : store.newest_session_id();
        plan = make_plan(store, id);
        session_id = id;
        frame_window.emplace(store, id);
        if (plan.session.transport == schema::Transport::sse &&
            !plan.session.subscriptions.empty()) {
            sse_label = plan.session.subscriptions.front().label();
        }
        virtual_ns = plan.connections.front().up_offset_ns;
        rest = std::make_unique<RestTimelines>(rest_store, plan.session);
        net::post(rest_pool, [] { schema::make_this_thread_background(); });
        for (const auto& m : store.client_messages(id)) {
            if (m.kind == "text") {
                recorded_texts[m.connection_idx].push_back(m.after_seq);
            }
        }
        for (const auto& f : options.faults) {
            add_fault(f);
        }
        if (!options.tls_cert.empty()) {
            load_tls();
        }
        const auto address = net::ip::make_address(options.host);
        tcp::endpoint endpoint{address, options.port};
        acceptor.open(endpoint.protocol());
        acceptor.set_option(net::socket_base::reuse_address(true));
        acceptor.bind(endpoint);
        acceptor.listen();
        started = Clock::now();
    }

    ReplayOptions options;
    schema::TapeStore store;
    schema::TapeStore rest_store;  // the REST thread's own connection to the tape
    TapePlan plan;
    // Per recorded connection, the `after_seq` of each text message its client sent, in order.
    std::map<std::int64_t, std::vector<std::int64_t>> recorded_texts;
    std::int64_t session_id = 0;
    std::optional<FrameWindow> frame_window;  // the frames the connections in front read
    std::string sse_label;
    net::io_context ioc;
    tcp::acceptor acceptor;
    net::signal_set signals;
    net::steady_timer vt_timer;
    std::int64_t virtual_ns = 0;
    Clock::time_point started;
    std::map<std::string, ClientState> clients;
    std::set<LiveConnection*> live;
    std::unique_ptr<RestTimelines> rest;
    net::thread_pool rest_pool{1};      // the REST thread; goes first, before what it uses
    std::vector<Fault> faults;          // options.faults plus those added at run time
    std::int64_t refuse_remaining = 0;  // attempts still to refuse (refuse=K)
    bool paused = false;
    Clock::time_point paused_at{};
    Lateness lateness;
    int exit_code = 0;
    std::int64_t connections_served = 0;
    std::optional<net::ssl::context> tls;  // with --tls-cert: every connection speaks TLS

    // Loads the certificate chain and key; throws a one-line error naming the file.
    void load_tls() {
        tls.emplace(net::ssl::context::tls_server);
        tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                         net::ssl::context::no_sslv3);
        beast::error_code ec;
        tls->use_certificate_chain_file(options.tls_cert, ec);
        if (ec) {
            throw std::runtime_error(options.tls_cert +
                                     ": cannot load a PEM certificate chain: " + ec.message());
        }
        tls->use_private_key_file(options.tls_key, net::ssl::context::pem, ec);
        if (ec) {
            throw std::runtime_error(options.tls_key + ": cannot load a PEM private key matching " +
                                     options.tls_cert + ": " + ec.message());
        }
    }

    std::string host_port() const {
        const auto ep = acceptor.local_endpoint();
        return ep.address().to_string() + ":" + std::to_string(ep.port());
    }

    void add_fault(const Fault& f) {
        if (f.kind == FaultKind::refuse) {
            refuse_remaining += f.n;
        } else {
            faults.push_back(f);
        }
    }

    void pause() {
        if (!paused) {
            paused = true;
            paused_at = Clock::now();
        }
    }

    // Resumes every clock where it stopped.
    void resume() {
        if (!paused) {
            return;
        }
        paused = false;
        const auto shift = Clock::now() - paused_at;
        started += shift;
        for (auto* c : live) {
            c->r0 += shift;
        }
        for (auto& [token, c] : clients) {
            c.clock_at += shift;
            if (c.gap_until != Clock::time_point{}) {
                c.gap_until += shift;
            }
        }
        wake_all();
    }

    // ---- time ----

    // Real time as the replay clocks see it: it stands still while paused.
    Clock::time_point clock_now() const { return paused ? paused_at : Clock::now(); }

    // The tape offset "now" for the shared clock modes.
    std::int64_t shared_tape_now() const {
        if (options.clock == ClockMode::virtual_clock) {
            return virtual_ns;
        }
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::nanoseconds>(clock_now() - started);
        return plan.connections.front().up_offset_ns +
               static_cast<std::int64_t>(static_cast<double>(elapsed.count()) * options.speed);
    }

    // The tape time a client's REST requests see: what has happened on its replay clock.
    std::int64_t client_tape_now(const ClientState& c) const {
        if (options.shared_clock || options.clock == ClockMode::virtual_clock) {
            return shared_tape_now();
        }
        if (!c.clock_started) {
            return plan.connections.front().up_offset_ns;
        }
        if (options.clock == ClockMode::max_speed) {
            return c.rest_at.value_or(c.clock_offset);
        }
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::nanoseconds>(clock_now() - c.clock_at);
        const std::int64_t now =
            c.clock_offset +
            static_cast<std::int64_t>(static_cast<double>(elapsed.count()) * options.speed);
        return std::max(now, c.rest_at.value_or(now));
    }

    void set_client_clock(ClientState& c, std::int64_t offset) {
        c.clock_offset = offset;
        c.clock_at = Clock::now();
        c.clock_started = true;
    }

    // At a real-time clock: when the tape offset `offset` is due on `c`.
    Clock::time_point due_at(const LiveConnection& c, std::int64_t offset) const {
        return c.r0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                          static_cast<double>(offset - c.base) / options.speed));
    }

    // Waits until the tape offset `offset` is due on `c`, or `c` has something to send or closed.
    // Returns true when the offset is due.
    net::awaitable<bool> wait_due(LiveConnection* c, std::int64_t offset) {
        for (;;) {
            if (c->closed || !c->pending.empty() || c->close_1003) {
                co_return false;
            }
            if (c->client_texts < c->needed_texts && Clock::now() < c->client_deadline) {
                c->wake.expires_at(c->client_deadline);
                co_await c->wake.async_wait(kUseTuple);
                continue;
            }
            if (paused) {
                c->wake.expires_at(Clock::time_point::max());
                co_await c->wake.async_wait(kUseTuple);
                continue;
            }
            switch (options.clock) {
                case ClockMode::max_speed:
                    co_return true;
                case ClockMode::virtual_clock:
                    if (virtual_ns >= offset) {
                        co_return true;
                    }
                    c->wake.expires_at(Clock::time_point::max());
                    break;
                case ClockMode::realtime: {
                    const auto due = due_at(*c, offset);
                    if (Clock::now() >= due) {
                        co_return true;
                    }
                    c->wake.expires_at(due);
                    break;
                }
            }
            co_await c->wake.async_wait(kUseTuple);
        }
    }

    void wake_all() {
        for (auto* c : live) {
            c->wake.cancel();
        }
    }

    // ---- admission: connections follow the tape ----

    ClientState& client_for(const std::string& token) {
        auto it = clients.find(options.shared_clock ? std::string() : token);
        if (it == clients.end()) {
            ClientState s;
            s.name = "client " + std::to_string(clients.size() + 1);
            it = clients.emplace(options.shared_clock ? std::string() : token, s).first;
        }
        return it->second;
    }

    Admission admit(ClientState& client) {
        Admission a;
        if (refuse_remaining > 0) {
            --refuse_remaining;
            a.error_message = "refused by a fault overlay";
            return a;
        }
        if (options.shared_clock || options.clock == ClockMode::virtual_clock) {
            const std::int64_t now = shared_tape_now();
            for (std::size_t k = 0; k < plan.connections.size(); ++k) {
                const auto& p = plan.connections[k];
                if (now >= p.up_offset_ns && now < p.end_offset_ns) {
                    a.ok = true;
                    a.connection = k;
                    return a;
                }
                if (now < p.up_offset_ns) {
                    return refuse_in_gap(client, k);
                }
            }
            a.error_message = "the tape has ended";
            return a;
        }
        if (client.ending) {
            // The client gave up on a connection that had nothing left to send, before this
            // server saw it go: that connection has been played.
            const std::size_t k = *client.ending;
            connection_played(client, k);
            client.superseded = k;
        }
        if (client.finished) {
            if (!options.loop) {
                a.error_message = "the tape has ended";
                return a;
            }
            client.finished = false;
            client.next = 0;
        }
        if (options.clock == ClockMode::realtime && Clock::now() < client.gap_until) {
            return refuse_in_gap(client, client.next);
        }
        a.ok = true;
        a.connection = client.next;
        client.refused_in_gap = 0;
        return a;
    }

    // Fails an attempt the way the recording's attempts in this gap failed.
    Admission refuse_in_gap(ClientState& client, std::size_t next) {
        Admission a;
        const auto& failed = plan.connections[next].failed_before;
        if (!failed.empty()) {
            const auto& f = failed[std::min(client.refused_in_gap, failed.size() - 1)];
            a.status = static_cast<int>(f.http_status.value_or(0));
            a.error_message = f.error_message;
        } else {
            a.error_message = "";
        }
        ++client.refused_in_gap;
        return a;
    }

    // Called when connection `k` of `client` ended as recorded.
    void connection_played(ClientState& client, std::size_t k) {
        if (client.superseded == k) {
            client.superseded.reset();
            return;
        }
        client.ending.reset();
        if (options.shared_clock || options.clock == ClockMode::virtual_clock) {
            return;
        }
        // The REST view stays at this connection's end until the next one starts, so a backfill
        // made meanwhile sees what had happened by then, also at --max-speed.
        set_client_clock(client, plan.connections[k].end_offset_ns);
        client.refused_in_gap = 0;
        if (k + 1 >= plan.connections.size()) {
            client.finished = true;
            return;
        }
        client.next = k + 1;
        if (options.clock == ClockMode::realtime) {
            const std::int64_t gap =
                plan.connections[k + 1].up_offset_ns - plan.connections[k].end_offset_ns;
            client.gap_until =
                Clock::now() +
                std::chrono::nanoseconds(static_cast<std::int64_t>(
                    static_cast<double>(std::max<std::int64_t>(0, gap)) / options.speed));
        }
    }

    bool all_done() const {
        if (clients.empty() || !live.empty()) {
            return false;
        }
        for (const auto& [token, c] : clients) {
            if (!c.finished) {
                return false;
            }
        }
        return true;
    }

    void maybe_exit() {
        if (options.exit_when_done && all_done()) {
            ioc.stop();
        }
    }

    // ---- HTTP ----

    template <typename Body>
    static void common_headers(http::response<Body>& res) {
        res.set("X-Request-Id", random_uuid());
    }

    http::response<http::string_body> json_response(const http::request<http::string_body>& req,
                                                    http::status status, std::string body) {
        http::response<http::string_body> res{status, req.version()};
        res.set(http::field::content_type, "application/json; charset=utf-8");
        res.set(http::field::access_control_allow_origin, "*");
        common_headers(res);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(body);
        res.prepare_payload();
        return res;
    }

    std::string instance_v1() const {
        return "{\"uri\":\"" + host_port() +
               "\",\"title\":\"mastotape replay\",\"short_description\":\"\",\"description\":\"\","
               "\"email\":\"\",\"version\":\"" +
               options.version + "\",\"urls\":{\"streaming_api\":\"ws://" + host_port() +
               "\"},\"stats\":{\"user_count\":0,\"status_count\":0,\"domain_count\":0},"
               "\"languages\":[\"en\"],\"registrations\":false,\"approval_required\":false,"
               "\"invites_enabled\":false}";
    }

    std::string instance_v2() const {
        return "{\"domain\":\"" + host_port() + "\",\"title\":\"mastotape replay\",\"version\":\"" +
               options.version +
               "\",\"source_url\":\"\",\"description\":\"\",\"configuration\":{\"urls\":{"
               "\"streaming\":\"ws://" +
               host_port() + "\"}},\"languages\":[\"en\"]}";
    }

    std::string status_json() {
        std::string out = "{\"clock\":\"";
        out += options.clock == ClockMode::realtime    ? "realtime"
               : options.clock == ClockMode::max_speed ? "max-speed"
                                                       : "virtual";
        out += "\",\"speed\":" + std::to_string(options.speed);
        out += ",\"tape_offset_ns\":" + std::to_string(shared_tape_now());
        out += ",\"session\":" + std::to_string(session_id);
        out += ",\"recorded_connections\":" + std::to_string(plan.connections.size());
        out += ",\"live_connections\":" + std::to_string(live.size());
        out += std::string(",\"paused\":") + (paused ? "true" : "false");
        out += ",\"lateness\":" + lateness.json();
        out += ",\"clients\":[";
        bool first = true;
        for (const auto& [token, c] : clients) {
            if (!first) {
                out += ',';
            }
            first = false;
            out += "{\"name\":\"" + c.name + "\",\"next_connection\":" + std::to_string(c.next) +
                   ",\"live\":" + std::to_string(c.live) +
                   ",\"finished\":" + (c.finished ? "true" : "false") + ",\"subscriptions\":[";
            for (std::size_t i = 0; i < c.subscriptions.size(); ++i) {
                out += (i ? "," : "") + c.subscriptions[i].label();  // a JSON array
            }
            out += "]}";
        }
        out += "]}";
        return out;
    }

    static bool control_path(std::string_view path) { return path.rfind("/_mastotape/", 0) == 0; }
    static bool fixed_route(std::string_view path) {
        return path == "/api/v1/streaming/health" || path == "/api/v1/instance" ||
               path == "/api/v1/instance/" || path == "/api/v2/instance" ||
               path == "/api/v2/instance/";
    }

    // The control API: clock control and status. Returns nullopt for paths it does not own.
    std::optional<http::response<http::string_body>> control(
        const http::request<http::string_body>& req, std::string_view path,
        std::string_view query) {
        if (!control_path(path)) {
            return std::nullopt;
        }
        if (path == "/_mastotape/status") {
            return json_response(req, http::status::ok, status_json());
        }
        if (path == "/_mastotape/clock/advance" || path == "/_mastotape/clock/run-to") {
            if (options.clock != ClockMode::virtual_clock) {
                return json_response(
                    req, http::status::conflict,
                    R"j({"error":"the clock is not virtual (start with --virtual-clock)"})j");
            }
            const auto number = [&](const char* name) -> std::optional<double> {
                const auto text = query_param(query, name);
                if (!text) {
                    return std::nullopt;
                }
                char* end = nullptr;
                const double v = std::strtod(text->c_str(), &end);
                if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(v) ||
                    v < 0 || v > 1e12) {
                    return std::nan("");
                }
                return v;
            };
            const auto bad = [&](const char* what) {
                return json_response(req, http::status::bad_request,
                                     std::string("{\"error\":\"") + what + "\"}");
            };
            if (path == "/_mastotape/clock/advance") {
                const auto ms = number("ms");
                if (!ms || std::isnan(*ms)) {
                    return bad("ms= is required: the milliseconds to advance, e.g. ms=1500");
                }
                virtual_ns += static_cast<std::int64_t>(*ms * 1e6);
            } else if (const auto seq = number("seq")) {
                if (std::isnan(*seq)) {
                    return bad("seq= must be a frame sequence number");
                }
                auto cursor = store.frames_from_seq(session_id, static_cast<std::int64_t>(*seq));
                schema::Frame f;
                if (cursor.next(f)) {
                    virtual_ns = std::max(virtual_ns, f.offset_ns);
                }
            } else if (const auto next = query_param(query, "next"); next == "gap") {
                for (const auto& p : plan.connections) {
                    if (p.end_offset_ns > virtual_ns) {
                        virtual_ns = p.end_offset_ns;
                        break;
                    }
                }
            } else if (next == "frame" || next == "heartbeat") {
                auto cursor = store.frames_from_offset(session_id, virtual_ns + 1);
                schema::Frame f;
                while (cursor.next(f)) {
                    const bool beat =
                        f.columns.kind == FrameKind::ping ||
                        (f.columns.kind == FrameKind::comment && f.bytes.rfind(":thump", 0) == 0);
                    if (next == "frame" || beat) {
                        virtual_ns = f.offset_ns;
                        break;
                    }
                }
            } else {
                return bad("run-to needs seq=N or next=frame|heartbeat|gap");
            }
            wake_all();
            return json_response(req, http::status::ok,
                                 "{\"tape_offset_ns\":" + std::to_string(virtual_ns) + "}");
        }
        if (path == "/_mastotape/pause" || path == "/_mastotape/resume") {
            if (path == "/_mastotape/pause") {
                pause();
            } else {
                resume();
            }
            return json_response(req, http::status::ok,
                                 std::string("{\"paused\":") + (paused ? "true" : "false") + "}");
        }
        if (path == "/_mastotape/faults") {
            if (auto spec = query_param(query, "add")) {
                std::string error;
                auto f = parse_fault(*spec, error);
                if (!f) {
                    std::string body = "{\"error\":";
                    schema::append_json_string(body, error);
                    return json_response(req, http::status::bad_request, body + "}");
                }
                add_fault(*f);
            }
            if (query_param(query, "clear")) {
                faults.clear();
                refuse_remaining = 0;
            }
            std::string body =
                "{\"refuse_remaining\":" + std::to_string(refuse_remaining) + ",\"faults\":[";
            for (std::size_t i = 0; i < faults.size(); ++i) {
                body += (i ? "," : "");
                schema::append_json_string(body, faults[i].describe());
            }
            return json_response(req, http::status::ok, body + "]}");
        }
        if (path == "/_mastotape/reset") {
            const auto name = query_param(query, "client").value_or("");
            int reset = 0;
            for (auto& [token, c] : clients) {
                if (name.empty() || c.name == name) {
                    // A connection still playing goes on, but no longer moves the client.
                    ClientState fresh;
                    fresh.name = c.name;
                    fresh.live = c.live;
                    fresh.generation = c.generation + 1;
                    c = std::move(fresh);
                    ++reset;
                }
            }
            if (reset == 0 && !name.empty()) {
                return json_response(req, http::status::not_found,
                                     R"j({"error":"no such client (see /_mastotape/status)"})j");
            }
            return json_response(req, http::status::ok,
                                 "{\"reset\":" + std::to_string(reset) + "}");
        }
        return json_response(req, http::status::not_found, R"({"error":"unknown control path"})");
    }

    // ---- REST timelines ----

    static std::string iso_utc(std::chrono::system_clock::time_point t) {
        const std::time_t secs = std::chrono::system_clock::to_time_t(t);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char buf[40];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
        return buf;
    }

    // Runs on the REST thread. (A member, not a lambda with captures: with g++ 12 and co_spawn,
    // such a lambda's captured strings were freed as invalid pointers.)
    net::awaitable<std::optional<RestResponse>> rest_page(std::string path, std::string query,
                                                          std::int64_t now, std::string base) {
        co_return rest->handle(path, query, now, base);
    }

    // A REST timeline request; nullopt for a path that is none. The page is read on the REST
    // thread (from its own connection to the tape), so that frames due meanwhile never wait for
    // it.
    net::awaitable<std::optional<http::response<http::string_body>>> rest_request(
        const http::request<http::string_body>& req, std::string path, std::string query) {
        const std::string token = request_token(req[http::field::authorization], query, "");
        ClientState& client = client_for(token);
        std::optional<RestResponse> r;
        std::string failure;
        try {
            r = co_await net::co_spawn(
                rest_pool, rest_page(path, query, client_tape_now(client), "http://" + host_port()),
                net::use_awaitable);
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!failure.empty()) {
            std::string body = "{\"error\":";
            schema::append_json_string(body, failure);
            co_return json_response(req, http::status::internal_server_error, body + "}");
        }
        if (!r) {
            co_return std::nullopt;
        }
        if (!options.require_token.empty() && token != options.require_token) {
            co_return json_response(req, http::status::unauthorized,
                                    R"({"error":"The access token is invalid"})");
        }
        // Mastodon's per-token window: 300 requests per 5 minutes.
        const auto now = std::chrono::system_clock::now();
        if (now >= client.window_end) {
            client.window_end = now + std::chrono::minutes(5);
            client.window_requests = 0;
        }
        ++client.window_requests;
        const std::int64_t limit = options.rate_limit > 0 ? options.rate_limit : 300;
        const std::int64_t remaining = std::max<std::int64_t>(0, limit - client.window_requests);
        http::response<http::string_body> res;
        if (options.rate_limit > 0 && client.window_requests > options.rate_limit) {
            res = json_response(req, http::status::too_many_requests,
                                R"({"error":"Too many requests"})");
        } else {
            res = json_response(req, http::status::ok, std::move(r->body));
            for (const auto& [name, value] : r->headers) {
                res.set(name, value);
            }
        }
        res.set("X-RateLimit-Limit", std::to_string(limit));
        res.set("X-RateLimit-Remaining", std::to_string(remaining));
        res.set("X-RateLimit-Reset", iso_utc(client.window_end));
        co_return res;
    }

    // ---- sessions ----

    // Closes the socket and waits for the connection's reader to finish, so nothing refers to
    // `conn` once it goes.
    net::awaitable<void> retire(tcp::socket& socket, LiveConnection& conn) {
        beast::error_code ignored;
        if (!conn.reader_done) {
            socket.close(ignored);
        }
        while (!conn.reader_done) {
            conn.wake.expires_after(std::chrono::milliseconds(5));
            co_await conn.wake.async_wait(kUseTuple);
        }
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
            if (ec) {
                if (ec == net::error::operation_aborted) {
                    co_return;
                }
                fail(ec, "accept");
                continue;
            }
            ++connections_served;
            // Each frame leaves when it is due, not when Nagle's algorithm lets it (40 ms late
            // behind a delayed ACK otherwise).
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            net::co_spawn(ioc, serve_connection(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> serve_connection(tcp::socket socket) {
        ServerStream stream(std::move(socket), tls ? &*tls : nullptr);
        if (stream.tls() != nullptr) {
            stream.next_layer().expires_after(kRequestDeadline);
            auto [ec] =
                co_await stream.tls()->async_handshake(net::ssl::stream_base::server, kUseTuple);
            if (ec) {
                fail(ec, "TLS handshake");
                co_return;
            }
        }
        co_await serve_http(stream);
        // No write may still refer to the stream when it goes.
        beast::error_code ignored;
        stream.socket().close(ignored);
        co_await stream.async_drain(kUseTuple);
    }

    net::awaitable<void> serve_http(ServerStream& stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            stream.next_layer().expires_after(kRequestDeadline);
            auto [ec, n] = co_await http::async_read(stream, buffer, req, kUseTuple);
            if (ec) {
                fail(ec, "read request");
                co_return;
            }
            stream.next_layer().expires_never();
            const std::string target(req.target());
            const auto qpos = target.find('?');
            const std::string path = target.substr(0, qpos);
            const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
            if (websocket::is_upgrade(req)) {
                // The real server upgrades on any path.
                co_await serve_websocket(stream, std::move(req), query);
                co_return;
            }
            if (auto sub = sse_subscription(path, query); sub && req.method() == http::verb::get) {
                co_await serve_sse(stream, std::move(req), *sub);
                co_return;
            }
            http::response<http::string_body> res;
            std::optional<http::response<http::string_body>> timeline;
            if (!control_path(path) && !fixed_route(path)) {
                timeline = co_await rest_request(req, path, query);
            }
            if (auto r = control(req, path, query)) {
                res = std::move(*r);
            } else if (path == "/api/v1/streaming/health") {
                res = http::response<http::string_body>{http::status::ok, req.version()};
                res.set(http::field::content_type, "text/plain");
                res.set(http::field::cache_control, "private, no-store");
                res.body() = "OK";
                res.keep_alive(req.keep_alive());
                res.prepare_payload();
            } else if (path == "/api/v1/instance" || path == "/api/v1/instance/") {
                res = json_response(req, http::status::ok, instance_v1());
            } else if (path == "/api/v2/instance" || path == "/api/v2/instance/") {
                res = json_response(req, http::status::ok, instance_v2());
            } else if (timeline) {
                res = std::move(*timeline);
            } else if (path.rfind("/api/v1/streaming", 0) == 0) {
                res = json_response(req, http::status::bad_request,
                                    R"({"error":"Unknown channel requested"})");
            } else {
                res =
                    json_response(req, http::status::not_found, R"({"error":"Record not found"})");
            }
            const bool keep_alive = res.keep_alive();
            auto [wec, wn] = co_await http::async_write(stream, res, kUseTuple);
            if (wec || !keep_alive) {
                co_await stream.async_drain(kUseTuple);
                beast::error_code ignored;
                stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                co_return;
            }
        }
    }

    // The real server's hand-written refusal of a WebSocket upgrade, then FIN.
    // Status 0: the recorded attempt got no answer at all; the connection is reset instead.
    net::awaitable<void> refuse_upgrade(ServerStream& stream, int status,
                                        const std::string& error_message) {
        if (status == 0) {
            co_await end_transport(stream, "reset");
            co_return;
        }
        std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                           std::string(http::obsolete_reason(static_cast<http::status>(status))) +
                           "\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: "
                           "0\r\nX-Request-Id: " +
                           random_uuid() + "\r\n";
        if (!error_message.empty()) {
            head += "X-Error-Message: " + error_message + "\r\n";
        }
        head += "\r\n";
        co_await net::async_write(stream, net::buffer(head), kUseTuple);
        co_await end_transport(stream, "eof");
    }

    std::optional<std::string> token_problem(const std::string& token) const {
        if (options.require_token.empty()) {
            return std::nullopt;
        }
        if (token.empty()) {
            return "Missing access token";
        }
        if (token != options.require_token) {
            return "Invalid access token";
        }
        return std::nullopt;
    }

    net::awaitable<void> serve_websocket(ServerStream& stream, http::request<http::string_body> req,
                                         std::string query) {
        const std::string subprotocol(req[http::field::sec_websocket_protocol]);
        const std::string token =
            request_token(req[http::field::authorization], query, subprotocol);
        if (auto problem = token_problem(token)) {
            co_await refuse_upgrade(stream, 401, *problem);
            co_return;
        }
        ClientState& client = client_for(token);
        const Admission a = admit(client);
        if (!a.ok) {
            co_await refuse_upgrade(stream, a.status, a.error_message);
            co_return;
        }
        WebSocket ws(stream);
        ws.auto_fragment(false);  // one frame a message, as the real server sends
        ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30),
                                                      websocket::stream_base::none(), false});
        ws.set_option(
            websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
                res.set(http::field::connection, "Upgrade");
                // Echo the offered subprotocol exactly (masto.js sends the token this way).
                if (!subprotocol.empty()) {
                    res.set(http::field::sec_websocket_protocol, subprotocol);
                }
                res.set("X-Request-Id", random_uuid());
            }));
        stream.strip_from_next_write("Server: " BOOST_BEAST_VERSION_STRING "\r\n");
        auto [ec] = co_await ws.async_accept(req, kUseTuple);
        if (ec) {
            fail(ec, "websocket accept");
            co_return;
        }
        LiveConnection conn(ioc.get_executor());
        if (auto s = query_param(query, "stream")) {
            schema::Subscription sub{*s, ""};
            if (sub.stream == "hashtag" || sub.stream == "hashtag:local") {
                sub.param = query_param(query, "tag").value_or("");
            } else if (sub.stream == "list") {
                sub.param = query_param(query, "list").value_or("");
            }
            if (auto error = subscribe_error(sub)) {
                conn.pending.push_back(*error);
            } else {
                conn.subscriptions.push_back(sub);
            }
        }
        live.insert(&conn);
        ++client.live;
        client.subscriptions = conn.subscriptions;
        WebSocketOutlet out(*this, ws, conn);
        co_await play(out, conn, client, a.connection);
        co_await retire(beast::get_lowest_layer(ws).socket(), conn);
        --client.live;
        live.erase(&conn);
        maybe_exit();
    }

    // Reads client messages until the socket closes; subscriptions and errors go to `conn`.
    net::awaitable<void> read_websocket(WebSocket& ws, LiveConnection* conn, ClientState* client) {
        beast::flat_buffer buffer;
        for (;;) {
            auto [ec, n] = co_await ws.async_read(buffer, kUseTuple);
            if (ec) {
                conn->closed = true;
                conn->reader_done = true;
                conn->wake.cancel();
                co_return;
            }
            if (!ws.got_text()) {
                conn->close_1003 = true;
                conn->wake.cancel();
                buffer.consume(buffer.size());
                continue;
            }
            const std::string text = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
            ++conn->client_texts;
            const auto m = parse_client_message(text);
            if (m.type == "subscribe") {
                if (auto error = subscribe_error(m.subscription)) {
                    conn->pending.push_back(*error);
                } else if (std::find(conn->subscriptions.begin(), conn->subscriptions.end(),
                                     m.subscription) == conn->subscriptions.end()) {
                    conn->subscriptions.push_back(m.subscription);
                }
            } else if (m.type == "unsubscribe") {
                if (subscribe_error(m.subscription)) {
                    conn->pending.push_back(R"({"error":"Error unsubscribing from channel"})");
                } else {
                    std::erase(conn->subscriptions, m.subscription);
                }
            }
            client->subscriptions = conn->subscriptions;
            conn->matched_labels.clear();
            conn->wake.cancel();
        }
    }

    // Writes one message as one unfragmented frame, as the real server does; false when the
    // connection is gone. The frame goes straight into the stream's write buffer (a server's
    // frames are not masked, and no extension is negotiated): this is the replayer's hot path,
    // and Beast's write operation costs more than the rest of it.
    static net::awaitable<bool> send(WebSocket& ws, std::string_view bytes, bool text) {
        ServerStream& stream = ws.next_layer();
        if (!stream.has_room()) {
            co_await stream.async_wait_room(kUseTuple);
        }
        if (!ws.is_open()) {
            co_return false;  // the client's close came in, or the connection failed
        }
        std::array<unsigned char, 10> head{};
        head[0] = text ? 0x81 : 0x82;  // FIN and the opcode
        std::size_t head_size = 2;
        const std::uint64_t n = bytes.size();
        if (n < 126) {
            head[1] = static_cast<unsigned char>(n);
        } else if (n <= 0xffff) {
            head[1] = 126;
            head[2] = static_cast<unsigned char>(n >> 8);
            head[3] = static_cast<unsigned char>(n);
            head_size = 4;
        } else {
            head[1] = 127;
            for (std::size_t i = 0; i < 8; ++i) {
                head[2 + i] = static_cast<unsigned char>(n >> (56 - 8 * i));
            }
            head_size = 10;
        }
        co_return stream.write_now(
            std::string_view(reinterpret_cast<const char*>(head.data()), head_size), bytes);
    }

    // Whether `conn` receives events labelled `label`. Every frame asks, and a tape has a handful
    // of labels: each is parsed once per subscription change.
    static bool subscribed(LiveConnection& conn, const std::string& label) {
        auto it = conn.matched_labels.find(label);
        if (it == conn.matched_labels.end()) {
            const bool match = std::any_of(conn.subscriptions.begin(), conn.subscriptions.end(),
                                           [&](const auto& s) { return label_matches(label, s); });
            it = conn.matched_labels.emplace(label, match).first;
        }
        return it->second;
    }

    // Sends what is pending; false when the connection is gone.
    net::awaitable<bool> flush_pending(WebSocket& ws, LiveConnection& conn) {
        while (!conn.pending.empty() && !conn.closed) {
            const std::string msg = std::move(conn.pending.front());
            conn.pending.pop_front();
            ws.text(true);
            auto [ec, n] = co_await ws.async_write(net::buffer(msg), kUseTuple);
            if (ec) {
                conn.closed = true;
            }
        }
        if (conn.close_1003 && !conn.closed) {
            conn.closed = true;
            co_await ws.async_close(
                websocket::close_reason(
                    websocket::close_code::unknown_data,
                    "The mastodon streaming server does not support binary messages"),
                kUseTuple);
        }
        co_return !conn.closed;
    }

    // Waits for `offset`, sending anything pending meanwhile; false when the connection is gone.
    net::awaitable<bool> wait_and_flush(WebSocket& ws, LiveConnection& conn, std::int64_t offset) {
        for (;;) {
            const bool due = co_await wait_due(&conn, offset);
            const bool open = co_await flush_pending(ws, conn);
            if (!open) {
                co_return false;
            }
            if (due) {
                co_return true;
            }
        }
    }

    // The `after_seq` of each text message the recorded client of `p` sent, in order.
    const std::vector<std::int64_t>& texts_of(const PlannedConnection& p) const {
        static const std::vector<std::int64_t> none;
        const auto it = recorded_texts.find(p.recorded.idx);
        return it == recorded_texts.end() ? none : it->second;
    }

    // ---- playing a recorded connection ----

    bool sse_tape() const { return plan.session.transport == schema::Transport::sse; }

    // One live connection as its transport carries the tape. play() holds what every transport
    // shares (where to start, time, fault overlays, the recorded end); an outlet says how a frame,
    // a heartbeat, a close and an end look on its wire.
    class Outlet {
       public:
        Outlet(Impl& impl, ServerStream& stream, LiveConnection& conn)
            : impl_(impl), stream_(stream), conn_(conn) {}
        virtual ~Outlet() = default;
        Outlet(const Outlet&) = delete;
        Outlet& operator=(const Outlet&) = delete;

        ServerStream& stream() { return stream_; }
        // Starts reading what the client sends.
        virtual void start_reader(ClientState& client) = 0;
        // Whether the client subscribes with frames (the recorded client's are waited for).
        virtual bool subscribes_with_frames() const = 0;
        // What goes out before the tape's frames, the connection starting at tape time `start`;
        // `resumed` when that is past its recorded beginning.
        virtual net::awaitable<bool> open(std::int64_t start, bool resumed) = 0;
        // Waits until the tape offset is due, answering the client meanwhile; false when the
        // connection is gone.
        virtual net::awaitable<bool> wait(std::int64_t offset) = 0;
        // Sends one frame of the tape as this transport carries it: nothing when the client is
        // not subscribed to it or the transport has no such frame.
        virtual net::awaitable<bool> play(const schema::Frame& f) = 0;
        // Sends the event `f` spoiled by a malformed-at or oversize-at fault.
        virtual net::awaitable<bool> play_spoiled(const schema::Frame& f, FaultKind kind) = 0;
        // A tape made over the other transport has the other kind of heartbeat; the outlet turns
        // them into its own, as often as the real server sends those, and only while the tape
        // has them (a recorded silence stays silent). When the next one not on the tape is due.
        std::int64_t next_synth_ns() const { return next_synth_ns_; }
        // Sends it (and says when the next is due).
        virtual net::awaitable<bool> synth_heartbeat() {
            next_synth_ns_ = kNever;
            co_return true;
        }
        // Ends the connection as close-at=T:CODE asks.
        virtual net::awaitable<void> close(int code) = 0;
        // Ends the connection as the recorded one ended (`tape_end`: as the tape ends).
        virtual net::awaitable<void> end(const PlannedConnection& p, bool tape_end) = 0;

       protected:
        static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
        bool synthesizing() const {
            return impl_.options.synth_heartbeats && impl_.sse_tape() != is_sse_;
        }

        Impl& impl_;
        ServerStream& stream_;
        LiveConnection& conn_;
        bool is_sse_ = false;
        std::int64_t next_synth_ns_ = kNever;
    };

    class WebSocketOutlet final : public Outlet {
       public:
        WebSocketOutlet(Impl& impl, WebSocket& ws, LiveConnection& conn)
            : Outlet(impl, ws.next_layer(), conn), ws_(ws) {
            // Only a pong counts as the client being alive, as for the real server.
            ws_.control_callback([&conn](websocket::frame_type kind, beast::string_view) {
                if (kind == websocket::frame_type::pong) {
                    conn.ponged = true;
                    conn.wake.cancel();
                }
            });
        }

        void start_reader(ClientState& client) override {
            net::co_spawn(impl_.ioc, impl_.read_websocket(ws_, &conn_, &client), net::detached);
        }
        bool subscribes_with_frames() const override { return true; }
        net::awaitable<bool> open(std::int64_t start, bool) override {
            last_ping_ns_ = start;
            co_return true;
        }
        net::awaitable<bool> wait(std::int64_t offset) override {
            co_return co_await impl_.wait_and_flush(ws_, conn_, offset);
        }

        net::awaitable<bool> play(const schema::Frame& f) override {
            switch (f.columns.kind) {
                case FrameKind::event:
                    if (impl_.sse_tape()) {
                        if (subscribed(conn_, impl_.sse_label)) {
                            if (auto env = envelope_from_sse_block(f.bytes, impl_.sse_label)) {
                                co_return co_await send(ws_, *env, true);
                            }
                        }
                    } else if (f.columns.stream && subscribed(conn_, *f.columns.stream)) {
                        co_return co_await send(ws_, f.bytes, true);
                    }
                    co_return true;
                case FrameKind::comment:
                    // An SSE tape's `:thump` every 15 s: a ping every 30 s of them (the real
                    // server's period, give or take the recorded jitter).
                    if (synthesizing() && f.bytes.rfind(":thump", 0) == 0 &&
                        f.offset_ns - last_ping_ns_ >= 29 * kSec) {
                        last_ping_ns_ = f.offset_ns;
                        co_return co_await ping({});
                    }
                    co_return true;
                case FrameKind::text:
                    co_return co_await send(ws_, f.bytes, true);
                case FrameKind::binary:
                    co_return co_await send(ws_, f.bytes, false);
                case FrameKind::ping:
                    co_return co_await ping(ping_payload(f.bytes));
                case FrameKind::pong: {
                    auto [ec] = co_await ws_.async_pong(ping_payload(f.bytes), kUseTuple);
                    co_return !ec;
                }
                case FrameKind::error:  // the recorder's own subscriptions' errors
                    break;
            }
            co_return true;
        }

        net::awaitable<bool> play_spoiled(const schema::Frame& f, FaultKind kind) override {
            if (kind == FaultKind::oversize_at) {
                co_return co_await send(ws_, oversized_envelope(), true);
            }
            co_return co_await send(ws_, std::string_view(f.bytes).substr(0, f.bytes.size() / 2),
                                    true);
        }

        net::awaitable<void> close(int code) override {
            co_await ws_.async_close(
                websocket::close_reason(static_cast<websocket::close_code>(code)), kUseTuple);
        }
        net::awaitable<void> end(const PlannedConnection& p, bool tape_end) override {
            co_await impl_.end_websocket(ws_, conn_, p, tape_end);
        }

       private:
        // Pings the client. With --kill-unresponsive, a client that has not answered the
        // previous ping is dropped instead, with no close frame, as the real server's ping tick
        // does; at a fast replay clock the answer is waited for a moment (the real ticks are 30 s
        // apart).
        net::awaitable<bool> ping(const websocket::ping_data& payload) {
            if (impl_.options.kill_unresponsive) {
                if (conn_.pinged_at && !conn_.ponged) {
                    const auto until = *conn_.pinged_at + kPongGrace;
                    while (!conn_.ponged && !conn_.closed && Clock::now() < until) {
                        conn_.wake.expires_at(until);
                        co_await conn_.wake.async_wait(kUseTuple);
                    }
                    if (conn_.closed) {
                        co_return false;
                    }
                    if (!conn_.ponged) {
                        co_await end_transport(stream_, "eof");
                        conn_.cut_short = true;
                        co_return false;
                    }
                }
                conn_.pinged_at = Clock::now();
                conn_.ponged = false;
            }
            auto [ec] = co_await ws_.async_ping(payload, kUseTuple);
            co_return !ec;
        }

        WebSocket& ws_;
        std::int64_t last_ping_ns_ = 0;  // tape time of the last ping made from `:thump`s
    };

    class SseOutlet final : public Outlet {
       public:
        SseOutlet(Impl& impl, ServerStream& stream, LiveConnection& conn)
            : Outlet(impl, stream, conn),
              thump_(impl.options.legacy_thump ? ":thump\n" : ":thump\n\n") {
            is_sse_ = true;
        }

        void start_reader(ClientState&) override {
            net::co_spawn(impl_.ioc, impl_.watch_sse_client(stream_, &conn_), net::detached);
        }
        bool subscribes_with_frames() const override { return false; }

        // The real server writes `:)` right after the headers; an SSE tape has it recorded, and
        // it is played from there unless the connection resumes past it.
        net::awaitable<bool> open(std::int64_t start, bool resumed) override {
            if (synthesizing()) {
                next_synth_ns_ = start + 15 * kSec;  // each response's own 15 s interval
            }
            if (impl_.sse_tape() && !resumed) {
                co_return true;
            }
            greeted_ = true;
            co_return co_await write(":)\n");
        }
        net::awaitable<bool> wait(std::int64_t offset) override {
            co_return co_await impl_.wait_sse(conn_, offset);
        }

        net::awaitable<bool> play(const schema::Frame& f) override {
            if (!impl_.sse_tape()) {
                if (f.columns.kind == FrameKind::event && f.columns.stream &&
                    subscribed(conn_, *f.columns.stream)) {
                    if (auto block = sse_block_from_envelope(f.bytes)) {
                        co_return co_await write(*block);
                    }
                } else if (f.columns.kind == FrameKind::ping && synthesizing()) {
                    // A WebSocket tape's ping every 30 s: a `:thump` then, and one 15 s later.
                    next_synth_ns_ = f.offset_ns + 15 * kSec;
                    co_return co_await write(thump_);
                }
                co_return true;
            }
            switch (f.columns.kind) {
                case FrameKind::comment:
                    if (f.bytes.rfind(":)", 0) == 0) {
                        if (greeted_) {
                            co_return true;
                        }
                        greeted_ = true;
                        co_return co_await write(f.bytes);
                    }
                    co_return co_await write(f.bytes.rfind(":thump", 0) == 0 ? thump_ : f.bytes);
                case FrameKind::event:
                    if (subscribed(conn_, impl_.sse_label)) {
                        co_return co_await write(f.bytes);
                    }
                    co_return true;
                case FrameKind::text:
                    co_return co_await write(f.bytes);
                default:
                    co_return true;
            }
        }

        // The event's block cut in the middle of its data, or one 17 MiB data line; each still
        // ended by a blank line, so the client's parser meets it as one event.
        net::awaitable<bool> play_spoiled(const schema::Frame& f, FaultKind kind) override {
            if (kind == FaultKind::oversize_at) {
                co_return co_await write("event: update\ndata: " + std::string(kOversize, 'x') +
                                         "\n\n");
            }
            const std::string block =
                impl_.sse_tape() ? f.bytes : sse_block_from_envelope(f.bytes).value_or(f.bytes);
            co_return co_await write(block.substr(0, block.size() / 2) + "\n\n");
        }

        net::awaitable<bool> synth_heartbeat() override {
            next_synth_ns_ = kNever;  // until the tape's next ping
            co_return co_await write(thump_);
        }

        // res.end(): the chunked body ends cleanly (SSE has no close code).
        net::awaitable<void> close(int) override {
            co_await net::async_write(stream_, http::make_chunk_last(), kUseTuple);
            co_await stream_.async_drain(kUseTuple);
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }

        net::awaitable<void> end(const PlannedConnection& p, bool tape_end) override {
            const std::string& cause = p.recorded.end_cause;
            if (tape_end && impl_.options.hold) {
                while (!conn_.closed) {
                    conn_.wake.expires_at(Clock::time_point::max());
                    co_await conn_.wake.async_wait(kUseTuple);
                }
            } else if (!tape_end && cause == "heartbeat-timeout") {
                // The server went silent: nothing more until the client gives up.
                conn_.wake.expires_after(impl_.silence_after(p));
                co_await conn_.wake.async_wait(kUseTuple);
                beast::error_code ignored;
                stream_.socket().close(ignored);
            } else if (tape_end || cause == "close" || cause == "close-no-code") {
                co_await close(1000);
            } else {
                co_await end_transport(stream_, cause);
            }
        }

       private:
        net::awaitable<bool> write(const std::string& data) {
            co_return co_await impl_.write_chunk(stream_, conn_, data);
        }

        std::string thump_;
        bool greeted_ = false;  // `:)` went out
    };

    static std::string oversized_envelope() {
        return "{\"stream\":[\"user\"],\"event\":\"update\",\"payload\":\"" +
               std::string(kOversize, 'x') + "\"}";
    }

    // Sends the heartbeats `out` makes up that are due by tape time `until`, then waits for
    // `until`; false when the connection is gone. (No co_await in a condition or beside && or
    // ||: g++ 12 miscompiles some of those.)
    static net::awaitable<bool> wait_with_heartbeats(Outlet& out, std::int64_t until) {
        bool alive = true;
        while (alive && out.next_synth_ns() <= until) {
            const std::int64_t due = out.next_synth_ns();
            alive = co_await out.wait(due);
            if (alive) {
                alive = co_await out.synth_heartbeat();
            }
        }
        if (alive) {
            alive = co_await out.wait(until);
        }
        co_return alive;
    }

    // Plays the client's recorded connection `k` through `out`, from its start (or from where a
    // fault cut it short, or from the shared clock's now) to its recorded end.
    net::awaitable<void> play(Outlet& out, LiveConnection& conn, ClientState& client,
                              std::size_t k) {
        const PlannedConnection& p = plan.connections[k];
        const std::uint64_t generation = client.generation;
        // Where this connection starts on the tape: its handshake, the shared clock's now, or
        // where a fault overlay cut the client's previous connection short.
        std::int64_t start_offset = p.up_offset_ns;
        if (options.shared_clock || options.clock == ClockMode::virtual_clock) {
            start_offset = std::max(shared_tape_now(), p.up_offset_ns);
        } else if (client.resume_at) {
            const std::int64_t resumed =
                options.clock == ClockMode::realtime ? client_tape_now(client) : *client.resume_at;
            start_offset = std::max(resumed, p.up_offset_ns);
            client.resume_at.reset();
        }
        conn.r0 = Clock::now();
        // A client that does not subscribe as the recorded one did is waited for a second at most.
        conn.client_deadline = conn.r0 + std::chrono::seconds(1);
        conn.base = options.shared_clock ? plan.connections.front().up_offset_ns : start_offset;
        if (options.shared_clock) {
            conn.r0 = started;
        }
        conn.reader_done = false;
        set_client_clock(client, start_offset);
        if (options.clock == ClockMode::max_speed || options.clock == ClockMode::realtime) {
            client.rest_at = std::max(p.rest_at_ns, start_offset);
        }
        out.start_reader(client);
        ServerStream& stream = out.stream();
        bool alive = co_await out.open(start_offset, start_offset > p.up_offset_ns);
        FrameReader frames(*frame_window, store, session_id, start_offset);
        // Faults are keyed to the tape: events are numbered over the whole session.
        // Counted only once a fault asks (a count over the index is O(events before)).
        std::optional<std::int64_t> events_before_start;
        std::int64_t events_here = 0;
        std::set<std::size_t> applied;  // time faults already applied on this connection
        const auto& recorded_sent = texts_of(p);
        bool oversized = false;  // an oversize-at frame went out
        std::int64_t last_offset = start_offset;
        SharedFrame next;
        while (alive && (next = frames.next()) && next->connection_idx == p.recorded.idx) {
            const schema::Frame& f = *next;  // kept by `next` while the frame is sent
            // Time faults due before this frame.
            for (std::size_t i = 0; alive && i < faults.size(); ++i) {
                const Fault fault = faults[i];
                const bool timed =
                    fault.kind == FaultKind::close_at || fault.kind == FaultKind::stall;
                if (!timed || applied.count(i) || fault.at_ns < start_offset ||
                    fault.at_ns > f.offset_ns) {
                    continue;
                }
                applied.insert(i);
                alive = co_await wait_with_heartbeats(out, fault.at_ns);
                if (!alive) {
                    break;
                }
                if (fault.kind == FaultKind::close_at) {
                    co_await out.close(static_cast<int>(fault.code));
                    alive = false;
                    conn.cut_short = true;
                    last_offset = fault.at_ns;
                } else {
                    // Nothing at all for the stall's length; the tape then resumes where it was.
                    conn.wake.expires_after(std::chrono::nanoseconds(fault.duration_ns));
                    co_await conn.wake.async_wait(kUseTuple);
                    conn.r0 += std::chrono::nanoseconds(fault.duration_ns);
                }
            }
            if (alive) {
                // A client that subscribes with frames gets nothing before its first subscribe
                // arrives: at a faster replay the time it takes would lose it the first events,
                // which the recorded client had subscribed in time for.
                if (out.subscribes_with_frames()) {
                    const auto sent_before = static_cast<std::size_t>(
                        std::lower_bound(recorded_sent.begin(), recorded_sent.end(), f.seq) -
                        recorded_sent.begin());
                    conn.needed_texts =
                        std::max<std::size_t>(sent_before, conn.subscriptions.empty());
                }
                if (out.next_synth_ns() <= f.offset_ns) {
                    alive = co_await wait_with_heartbeats(out, f.offset_ns);
                } else {
                    alive = co_await out.wait(f.offset_ns);  // per frame: one coroutine fewer
                }
            }
            if (!alive) {
                break;
            }
            std::size_t sent_bytes = f.bytes.size();
            const std::uint64_t written_before = stream.bytes_written();
            bool drop_after = false;
            std::optional<FaultKind> spoiled;
            if (f.columns.kind == FrameKind::event) {
                ++events_here;
                for (const auto& fault : faults) {
                    if (!fault.keyed_to_event()) {
                        continue;
                    }
                    if (!events_before_start) {
                        events_before_start = store.events_before(session_id, start_offset);
                    }
                    if (fault.n != *events_before_start + events_here) {
                        continue;
                    }
                    if (fault.kind == FaultKind::drop_after) {
                        drop_after = true;
                    } else {
                        spoiled = fault.kind;
                    }
                }
            }
            if (spoiled) {
                oversized = oversized || *spoiled == FaultKind::oversize_at;
                alive = co_await out.play_spoiled(f, *spoiled);
                sent_bytes = stream.bytes_written() - written_before;
            } else {
                alive = co_await out.play(f);
            }
            last_offset = f.offset_ns;
            if (options.clock == ClockMode::realtime && alive &&
                stream.bytes_written() != written_before) {
                lateness.add(Clock::now() - due_at(conn, f.offset_ns));  // only what went out
            }
            if (options.clock == ClockMode::max_speed) {
                client.clock_offset = f.offset_ns;  // REST sees as far as the stream has gone
            }
            if (alive && drop_after) {
                // An abrupt end: no close frame, as when a server dies.
                co_await end_transport(stream, "eof");
                alive = false;
                conn.cut_short = true;
            }
            for (const auto& fault : faults) {
                if (alive && fault.kind == FaultKind::slow) {
                    conn.wake.expires_after(std::chrono::nanoseconds(
                        static_cast<std::int64_t>(static_cast<double>(sent_bytes) * 1e9 /
                                                  static_cast<double>(fault.bytes_per_s))));
                    co_await conn.wake.async_wait(kUseTuple);
                }
            }
        }
        if (oversized && alive && !conn.closed) {
            // The client may still be refusing the oversize-at frame (1009, after reading all
            // 17 MiB of it): the connection's end must not come first and count it played.
            const auto until = Clock::now() + kOversizeGrace;
            while (!conn.closed && Clock::now() < until) {
                conn.wake.expires_at(until);
                co_await conn.wake.async_wait(kUseTuple);
            }
        }
        // A client that refused an oversize-at frame leaves (1009), as the fault meant it to.
        bool cut = conn.cut_short || (oversized && (!alive || conn.closed));
        if (alive && !conn.closed && !cut) {
            const bool last = k + 1 >= plan.connections.size();
            const bool in_tape_end =
                last && (p.recorded.end_cause == "local-stop" || p.recorded.end_cause.empty() ||
                         p.recorded.end_cause == "interrupted");
            if (client.generation == generation) {
                client.ending = k;
            }
            const std::int64_t end = in_tape_end ? plan.end_offset_ns : p.end_offset_ns;
            const bool reached_end = co_await wait_with_heartbeats(out, end);
            cut = !reached_end && (oversized || conn.cut_short);
            if (reached_end) {
                if (last && !options.hold && client.generation == generation) {
                    client.rest_at.reset();  // before the goodbye: REST then shows the whole tape
                }
                co_await out.end(p, in_tape_end);
            }
        }
        if (client.generation != generation) {
            co_return;  // reset meanwhile: the client starts over
        }
        if (cut) {
            client.ending.reset();
            resume_later(client, last_offset);
        } else {
            connection_played(client, k);
        }
    }

    // A fault overlay cut the client's connection short after the frame at `last_offset`: its
    // next attempt goes on with the same recorded connection. The clock keeps running meanwhile,
    // so what it misses is what a real disconnect would make it miss.
    void resume_later(ClientState& client, std::int64_t last_offset) {
        client.resume_at = last_offset + 1;
        set_client_clock(client, last_offset + 1);
    }

    // How long a connection that ended by heartbeat timeout stays silent: until the recording
    // reconnected, at most two minutes.
    Clock::duration silence_after(const PlannedConnection& p) const {
        if (options.clock == ClockMode::max_speed) {
            return std::chrono::seconds(120);  // the client's watchdog decides, as it did
        }
        if (options.clock != ClockMode::realtime) {
            return std::chrono::milliseconds(0);
        }
        std::int64_t gap = 0;
        for (std::size_t k = 0; k + 1 < plan.connections.size(); ++k) {
            if (&plan.connections[k] == &p) {
                gap = plan.connections[k + 1].up_offset_ns - p.end_offset_ns;
            }
        }
        const auto ns = static_cast<std::int64_t>(static_cast<double>(gap) / options.speed);
        return std::min<Clock::duration>(std::chrono::nanoseconds(ns), std::chrono::seconds(120));
    }

    // Ends the transport under a connection as the recorded one ended without a goodbye: a reset
    // is an RST; a TLS error, on a TLS connection, a record the client cannot decrypt; eof, a
    // network error and anything else, the end of the TCP stream.
    static net::awaitable<void> end_transport(ServerStream& stream, const std::string& cause) {
        co_await stream.async_drain(kUseTuple);  // what came before the end goes out first
        auto& socket = stream.socket();
        beast::error_code ignored;
        if (cause == "reset") {
            socket.set_option(net::socket_base::linger(true, 0), ignored);
            socket.close(ignored);
            co_return;
        }
        if (cause == "tls-error" && stream.tls() != nullptr) {
            // An application-data record (TLS 1.2/1.3 framing) of 32 bytes of nonsense, written
            // under the TLS layer.
            std::array<unsigned char, 37> record{0x17, 0x03, 0x03, 0x00, 0x20};
            co_await net::async_write(socket, net::buffer(record), kUseTuple);
        }
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

    // Ends a connection the way the recorded one ended.
    net::awaitable<void> end_websocket(WebSocket& ws, LiveConnection& conn,
                                       const PlannedConnection& p, bool tape_end) {
        auto& socket = beast::get_lowest_layer(ws).socket();
        beast::error_code ignored;
        const std::string& cause = p.recorded.end_cause;
        if (tape_end) {
            if (options.hold) {
                while (!conn.closed) {
                    conn.wake.expires_at(Clock::time_point::max());
                    co_await conn.wake.async_wait(kUseTuple);
                    co_await flush_pending(ws, conn);
                }
                co_return;
            }
            co_await ws.async_close(websocket::close_code::normal, kUseTuple);
        } else if (cause == "close") {
            co_await ws.async_close(
                websocket::close_reason(
                    static_cast<websocket::close_code>(p.recorded.close_code.value_or(1000)),
                    p.recorded.close_reason),
                kUseTuple);
        } else if (cause == "close-no-code") {
            co_await ws.async_close(websocket::close_reason{}, kUseTuple);
        } else if (cause == "heartbeat-timeout") {
            // The server went silent: no frames, no pongs, no close reply. The WebSocket reader
            // stops, and what the client sends is swallowed until it goes or the silence ends.
            co_await ws.next_layer().async_drain(kUseTuple);
            socket.cancel(ignored);
            while (!conn.reader_done) {
                conn.wake.expires_after(std::chrono::milliseconds(1));
                co_await conn.wake.async_wait(kUseTuple);
            }
            auto& tcp = beast::get_lowest_layer(ws);
            const auto until = Clock::now() + silence_after(p);
            std::array<char, 4096> sink;
            for (;;) {
                tcp.expires_at(until);
                auto [ec, n] = co_await tcp.async_read_some(net::buffer(sink), kUseTuple);
                if (ec) {
                    break;  // the client went, or the silence is over
                }
            }
            tcp.expires_never();
            socket.close(ignored);
        } else {
            co_await end_transport(ws.next_layer(), cause);
        }
        // Let the reader see the end before `conn` goes.
        while (!conn.closed) {
            conn.wake.expires_after(std::chrono::milliseconds(50));
            co_await conn.wake.async_wait(kUseTuple);
            if (!socket.is_open()) {
                break;
            }
        }
    }

    net::awaitable<void> serve_sse(ServerStream& stream, http::request<http::string_body> req,
                                   schema::Subscription sub) {
        const std::string target(req.target());
        const auto qpos = target.find('?');
        const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
        const std::string token = request_token(req[http::field::authorization], query, "");
        if (auto problem = token_problem(token)) {
            auto res =
                json_response(req, http::status::unauthorized, "{\"error\":\"" + *problem + "\"}");
            co_await http::async_write(stream, res, kUseTuple);
            co_return;
        }
        if ((sub.stream == "hashtag" || sub.stream == "hashtag:local") && sub.param.empty()) {
            auto res = json_response(req, http::status::bad_request,
                                     R"({"error":"Missing tag name parameter"})");
            co_await http::async_write(stream, res, kUseTuple);
            co_return;
        }
        if (sub.stream == "list" && sub.param.empty()) {
            auto res = json_response(req, http::status::bad_request,
                                     R"({"error":"Missing list name parameter"})");
            co_await http::async_write(stream, res, kUseTuple);
            co_return;
        }
        ClientState& client = client_for(token);
        const Admission a = admit(client);
        if (!a.ok) {
            if (a.status == 0) {
                co_await end_transport(stream, "reset");  // as the recorded attempt failed
                co_return;
            }
            std::string body = "{\"error\":";
            schema::append_json_string(
                body, a.error_message.empty() ? "Service Unavailable" : a.error_message);
            auto res = json_response(req, static_cast<http::status>(a.status), body + "}");
            co_await http::async_write(stream, res, kUseTuple);
            co_return;
        }
        http::response<http::empty_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "text/event-stream");
        res.set(http::field::cache_control, "private, no-store");
        res.set(http::field::access_control_allow_origin, "*");
        res.set("X-Request-Id", random_uuid());
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        auto [hec, hn] = co_await http::async_write_header(stream, sr, kUseTuple);
        if (hec) {
            co_return;
        }
        LiveConnection conn(ioc.get_executor());
        conn.subscriptions.push_back(sub);
        live.insert(&conn);
        ++client.live;
        client.subscriptions = conn.subscriptions;
        SseOutlet out(*this, stream, conn);
        co_await play(out, conn, client, a.connection);
        co_await retire(stream.socket(), conn);
        --client.live;
        live.erase(&conn);
        maybe_exit();
    }

    // Notices the client going away (an SSE client sends nothing after its request).
    net::awaitable<void> watch_sse_client(ServerStream& stream, LiveConnection* conn) {
        char byte = 0;
        for (;;) {
            auto [ec, n] = co_await stream.async_read_some(net::buffer(&byte, 1), kUseTuple);
            if (ec) {
                conn->closed = true;
                conn->reader_done = true;
                conn->wake.cancel();
                co_return;
            }
        }
    }

    // Waits for `offset` on an SSE connection; false when the client went away.
    net::awaitable<bool> wait_sse(LiveConnection& conn, std::int64_t offset) {
        for (;;) {
            const bool due = co_await wait_due(&conn, offset);
            if (conn.closed) {
                co_return false;
            }
            if (due) {
                co_return true;
            }
            conn.pending.clear();  // nothing to send back on SSE
        }
    }

    net::awaitable<bool> write_chunk(ServerStream& stream, LiveConnection& conn,
                                     const std::string& data) {
        auto [ec, n] =
            co_await net::async_write(stream, http::make_chunk(net::buffer(data)), kUseTuple);
        if (ec) {
            conn.closed = true;
        }
        co_return !ec;
    }
};

ReplayServer::ReplayServer(ReplayOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ReplayServer::~ReplayServer() = default;

std::uint16_t ReplayServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string ReplayServer::base_url() const {
    return (impl_->tls ? "wss://" : "ws://") + impl_->host_port();
}

int ReplayServer::run() {
    auto& impl = *impl_;
    impl.signals.async_wait([&impl](const beast::error_code& ec, int) {
        if (!ec) {
            impl.ioc.stop();
        }
    });
    net::co_spawn(impl.ioc, impl.accept_loop(), net::detached);
    net::steady_timer idle(impl.ioc);
    if (impl.options.exit_when_done && impl.options.idle_timeout_s > 0) {
        idle.expires_after(std::chrono::milliseconds(
            static_cast<std::int64_t>(impl.options.idle_timeout_s * 1000)));
        idle.async_wait([&impl](const beast::error_code& ec) {
            if (!ec && impl.clients.empty()) {
                std::cerr << "replay: no client connected within the idle timeout\n";
                impl.exit_code = 1;
                impl.ioc.stop();
            }
        });
    }
    impl.ioc.run();
    return impl.exit_code;
}

void ReplayServer::stop() {
    net::post(impl_->ioc, [this] { impl_->ioc.stop(); });
}

}  // namespace mastotape::replay
