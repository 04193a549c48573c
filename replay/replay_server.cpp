#include "replay/replay_server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <ctime>
#include <future>
#include <iostream>
#include <tuple>

#include "replay/bot_api.hpp"
#include "replay/control_access.hpp"
#include "replay/control_api.hpp"
#include "replay/coro.hpp"
#include "replay/descriptors.hpp"
#include "replay/harness.hpp"
#include "replay/http_response.hpp"
#include "replay/instance_documents.hpp"
#include "replay/rest_limits.hpp"
#include "replay/rest_timelines.hpp"
#include "replay/run_end.hpp"
#include "replay/server_stream.hpp"
#include "replay/sse_outlet.hpp"
#include "replay/streaming.hpp"
#include "replay/websocket_outlet.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/tape/background_thread.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/text/byte_codec.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::replay {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto kRequestDeadline = std::chrono::seconds(30);
// How long a kept-alive connection may sit idle between requests: Node's keepAliveTimeout, which
// the real server's Keep-Alive: timeout=5 announces (after an SSE 401 too).
constexpr auto kKeepAliveIdle = std::chrono::seconds(5);
// How long the accept loop waits after a failed accept (out of descriptors, most often).
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

bool fixed_route(std::string_view path) {
    return path == "/api/v1/streaming/health" || path == "/api/v1/instance" ||
           path == "/api/v1/instance/" || path == "/api/v2/instance" || path == "/api/v2/instance/";
}

std::int64_t session_of(schema::TapeStore& store, std::int64_t id) {
    return id != 0 ? id : store.newest_session_id();
}

}  // namespace

struct ReplayServer::Impl {
    explicit Impl(ReplayOptions o)
        : options(std::move(o)),
          store(options.tape, schema::OpenMode::read),
          rest_store(options.tape, schema::OpenMode::read),
          session_id(session_of(store, options.session_id)),
          plan(make_plan(store, session_id)),
          clock(options.clock, options.speed, options.shared_clock,
                plan.connections.front().up_offset_ns),
          admission(plan, clock, options.loop, options.client_report),
          player(store, session_id, plan, clock, admission, faults, options.hold),
          control(store, session_id, plan, clock, admission, player, faults),
          streaming{options, clock, plan, admission, player, false, "", nullptr, nullptr},
          rest(rest_store, plan.session),
          bot(rest_store, plan.session),
          harness(options.stub_file, options.expect_file),
          acceptor(ioc),
          signals(ioc) {
        streaming.sse_tape = plan.session.transport == schema::Transport::sse;
        streaming.sse_label = schema::sse_label(plan.session);
        streaming.connection_ended = [this] { run_end.activity_ended(); };
        streaming.client_message = [this](const ClientState& c, const std::string& text) {
            harness.journal().add({c.name, clock.tape_now(c.clock), c.position_ns, "WS",
                                   "/api/v1/streaming", "", text, "application/json", 0, true, ""},
                                  "");
        };
        clock.set_max_speed_silence(std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::duration<double>(options.silence_s)));
        net::post(rest_pool, [] { schema::make_this_thread_background(); });
        for (const auto& f : options.faults) {
            control.add_fault(f);
        }
        if (!options.tls_cert.empty()) {
            tls.emplace(server_tls(options.tls_cert, options.tls_key));
        }
        const tcp::endpoint endpoint{net::ip::make_address(options.host), options.port};
        acceptor.open(endpoint.protocol());
        acceptor.set_option(net::socket_base::reuse_address(true));
        acceptor.bind(endpoint);
        acceptor.listen();
        descriptors = raise_descriptor_limit();
    }

    ReplayOptions options;
    schema::TapeStore store;
    schema::TapeStore rest_store;  // the REST thread's own connection to the tape
    std::int64_t session_id;
    TapePlan plan;
    std::vector<Fault> faults;  // the overlays keyed to tape positions (refuse=K: admission's)
    ReplayClock clock;
    Admission admission;
    Player player;
    ControlApi control;
    Streaming streaming;
    RestTimelines rest;
    BotApi bot;
    Harness harness;  // stubs, the request journal, expectations
    // When the run ends by itself (--exit-when-done, --timeout); before the io_context, whose
    // coroutines it outlives.
    RunEnd run_end{
        ioc,
        options.exit_when_done,
        options.exit_grace_s,
        {[this] { return player.live(); }, [this] { return admission.clients().size(); }}};
    // Client connections open, and the most the descriptors allow (accept_loop waits there);
    // before the io_context, like the one above.
    DescriptorBudget descriptors;
    std::size_t open_connections = 0;
    net::io_context ioc;
    tcp::acceptor acceptor;
    net::signal_set signals;
    std::optional<net::ssl::context> tls;  // with --tls-cert: every connection speaks TLS
    int exit_code = 0;
    // The REST thread. Declared last, so it goes first: a page under way when the server stops
    // still uses the tape, the timelines and the network thread's executor.
    net::thread_pool rest_pool{1};

    // Whether a request's replay-clock time is the tape's: not at --max-speed, where it is how
    // fast the client read.
    bool journal_times() const { return options.clock != ClockMode::max_speed; }
    std::string host_port() const;
    Response fixed_answer(const Request& req, std::string_view path) const;
    net::awaitable<std::string> report_json(std::vector<ClientView> clients,
                                            std::vector<Expectation> expectations,
                                            RequestJournal journal);
    net::awaitable<std::string> expectations_json(std::vector<ClientView> clients,
                                                  std::vector<Expectation> expectations,
                                                  RequestJournal journal);
    net::awaitable<ControlAnswer> control_request(std::string path, std::string query,
                                                  std::string body);
    net::awaitable<std::optional<RestResponse>> rest_page(HttpCall call);
    HttpCall call_of(const Request& req, const std::string& path, const std::string& query);
    net::awaitable<Response> stub_answer(const Request& req, const std::string& path,
                                         const std::string& query, StubAnswer stub);
    net::awaitable<std::optional<Response>> rest_request(const Request& req, HttpCall call);
    void journal_request(const Request& req, const std::string& path, const std::string& query,
                         const Response& res, bool matched, const std::string& stub = {});
    net::awaitable<void> accept_loop();
    net::awaitable<void> serve_connection(tcp::socket socket);
    net::awaitable<void> serve_http(ServerStream& stream);
    net::awaitable<Response> answer(const Request& req, const std::string& path,
                                    const std::string& query, bool loopback_peer);
    net::awaitable<Response> control_answer(const Request& req, const std::string& path,
                                            const std::string& query, bool loopback_peer);
};

std::string ReplayServer::Impl::host_port() const {
    const auto ep = acceptor.local_endpoint();
    const std::string host = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

// The health and instance endpoints.
Response ReplayServer::Impl::fixed_answer(const Request& req, std::string_view path) const {
    if (path == "/api/v1/streaming/health") {
        return streaming_health(req);
    }
    if (path == "/api/v1/instance" || path == "/api/v1/instance/") {
        return json_response(req, http::status::ok, instance_v1(host_port(), options.version));
    }
    return json_response(req, http::status::ok, instance_v2(host_port(), options.version));
}

// Runs on the REST thread. (A member, not a lambda with captures: with g++ 12 and co_spawn, such a
// lambda's captured strings were freed as invalid pointers.)
net::awaitable<std::optional<RestResponse>> ReplayServer::Impl::rest_page(HttpCall call) {
    if (call.method == "GET") {
        if (auto page = rest.handle(call.path, call.query, call.tape_now, call.base)) {
            co_return page;
        }
    }
    co_return bot.handle(call);
}

// Runs on the REST thread, which has a connection to the tape of its own; from copies of what the
// network thread keeps.
net::awaitable<std::string> ReplayServer::Impl::report_json(std::vector<ClientView> clients,
                                                            std::vector<Expectation> expectations,
                                                            RequestJournal journal) {
    const auto verdict =
        judge(expectations, journal, rest_store, plan.session, clients, journal_times());
    co_return reports_json(make_reports(rest_store, plan, clients), clients, &verdict.report);
}

// The same, for /_mastotape/expectations.
net::awaitable<std::string> ReplayServer::Impl::expectations_json(
    std::vector<ClientView> clients, std::vector<Expectation> expectations,
    RequestJournal journal) {
    const auto verdict =
        judge(expectations, journal, rest_store, plan.session, clients, journal_times());
    co_return nlohmann::ordered_json{{"expectations", verdict.report["expectations"]}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A control API request, from HTTP or from control(). The live report and the expectations read
// the tape: they are judged on the REST thread, so that frames due meanwhile never wait.
net::awaitable<ControlAnswer> ReplayServer::Impl::control_request(std::string path,
                                                                  std::string query,
                                                                  std::string body) {
    const bool report = control.keeps_report(path);
    if (Harness::owns(path) || report) {
        if (!report) {
            if (auto a = harness.control(path, query, body)) {
                co_return *a;
            }
        }
        // (Nothing made inside the co_await: g++ 12 destroys such temporaries twice.)
        auto work =
            report
                ? report_json(control.clients(), harness.expectations(), harness.journal())
                : expectations_json(control.clients(), harness.expectations(), harness.journal());
        std::string text = co_await net::co_spawn(rest_pool, std::move(work), net::use_awaitable);
        co_return ControlAnswer{200, std::move(text)};
    }
    co_return control.handle(path, query);
}

// A request as the REST rooms see it.
HttpCall ReplayServer::Impl::call_of(const Request& req, const std::string& path,
                                     const std::string& query) {
    const std::string token = schema::request_token(req[http::field::authorization], query, "");
    return {std::string(req.method_string()),
            path,
            query,
            req.body(),
            std::string(req[http::field::content_type]),
            std::string(req["Idempotency-Key"]),
            clock.tape_now(admission.client(token).clock),
            "http://" + host_port()};
}

// A stub's answer, after its delay.
net::awaitable<Response> ReplayServer::Impl::stub_answer(const Request& req,
                                                         const std::string& path,
                                                         const std::string& query,
                                                         StubAnswer stub) {
    if (stub.delay_ms > 0) {
        net::steady_timer delay(ioc, std::chrono::milliseconds(stub.delay_ms));
        co_await delay.async_wait(kUseTuple);
    }
    Response res = json_response(req, static_cast<http::status>(stub.status), stub.body);
    for (const auto& [name, value] : stub.headers) {
        res.set(name, value);
    }
    journal_request(req, path, query, res, true, stub.name);
    co_return res;
}

// A REST request (a timeline, or what a bot calls: bot_api.hpp); nullopt for a path that is
// none. It is answered on the REST thread (from its own connection to the tape), so that frames
// due meanwhile never wait for it.
net::awaitable<std::optional<Response>> ReplayServer::Impl::rest_request(const Request& req,
                                                                         HttpCall call) {
    const std::string token =
        schema::request_token(req[http::field::authorization], call.query, "");
    ClientState& client = admission.client(token);
    std::optional<RestResponse> r;
    std::string failure;
    const std::int64_t tape_now = call.tape_now;
    const std::string target = call.query.empty() ? call.path : call.path + "?" + call.query;
    try {
        // (Made before the co_await: g++ 12 destroys temporaries of a nested call inside one
        // twice.)
        auto page = rest_page(std::move(call));
        r = co_await net::co_spawn(rest_pool, std::move(page), net::use_awaitable);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        co_return json_response(req, http::status::internal_server_error,
                                schema::error_json(failure));
    }
    if (!r) {
        co_return std::nullopt;
    }
    if (!options.require_token.empty() && token != options.require_token) {
        co_return json_response(req, http::status::unauthorized,
                                R"({"error":"The access token is invalid"})");
    }
    const RestAdmission admitted =
        admit_rest(client, admission, options.rate_limit, std::chrono::system_clock::now());
    Response res;
    if (admitted.refused) {
        res =
            json_response(req, static_cast<http::status>(*admitted.refused), admitted.refusal_body);
    } else {
        res = json_response(req, static_cast<http::status>(r->status), std::move(r->body));
        for (const auto& [name, value] : r->headers) {
            res.set(name, value);
        }
        if (!r->event.empty()) {  // a timeline's page
            client.log.rest_page(target, r->event, r->limit, r->ids, tape_now);
        }
    }
    for (const auto& [name, value] : admitted.headers) {
        res.set(name, value);
    }
    co_return res;
}

net::awaitable<void> ReplayServer::Impl::accept_loop() {
    // At the descriptor budget the loop stops accepting until a connection closes; out of
    // descriptors all the same (the system's table full, files of the process's own), accept
    // fails at once, again and again. Either way the loop looks again a moment later, the clients
    // wait in the listen queue, and it is said once until an accept succeeds.
    bool at_limit = false;
    net::steady_timer retry(ioc);
    for (;;) {
        std::string full;  // why new clients wait, when they do
        beast::error_code ec;
        tcp::socket socket(ioc);
        if (open_connections >= descriptors.max_connections) {
            full = "at " + descriptors.describe();
        } else {
            std::tie(ec, socket) = co_await acceptor.async_accept(kUseTuple);
            if (ec == net::error::operation_aborted) {
                co_return;
            }
            if (ec == net::error::no_descriptors || ec.value() == ENFILE) {
                full = "out of file descriptors (" + descriptors.describe() + ")";
            } else if (ec) {
                report_failure(ec, "accept");
            }
        }
        if (!full.empty() && !at_limit) {
            std::cerr << "replay: " << full << "; new clients wait until some connections close\n";
            at_limit = true;
        }
        if (!full.empty() || ec) {
            retry.expires_after(kAcceptRetry);
            co_await retry.async_wait(kUseTuple);
            continue;
        }
        if (at_limit) {
            std::cerr << "replay: accepting clients again\n";
            at_limit = false;
        }
        // Each frame leaves when it is due, not when Nagle's algorithm lets it (40 ms late behind
        // a delayed ACK otherwise).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        ++open_connections;
        net::co_spawn(ioc, serve_connection(std::move(socket)), net::detached);
    }
}

net::awaitable<void> ReplayServer::Impl::serve_connection(tcp::socket socket) {
    struct Counted {  // counted open until the coroutine ends, however it ends
        std::size_t& open;
        ~Counted() { --open; }
    } counted{open_connections};
    const auto stream = std::make_shared<ServerStream>(std::move(socket), tls ? &*tls : nullptr);
    if (stream->tls() != nullptr) {
        stream->next_layer().expires_after(kRequestDeadline);
        auto [ec] =
            co_await stream->tls()->async_handshake(net::ssl::stream_base::server, kUseTuple);
        if (ec) {
            report_failure(ec, "TLS handshake");
            co_return;
        }
    }
    try {
        co_await serve_http(*stream);
    } catch (const std::exception& e) {
        // A tape that fails to read in the middle of an answer (a corrupt page): the client's
        // connection ends, and the log says why.
        std::cerr << "replay: " << schema::printable(e.what())
                  << "; closed the client's connection\n";
    }
    // No write may still refer to the stream when it goes.
    beast::error_code ignored;
    stream->socket().close(ignored);
    co_await stream->async_drain(kUseTuple);
}

// Reads requests and routes them: an upgrade to the WebSocket endpoint (on any path, as the real
// server does), a GET of an SSE path to the SSE endpoint, the rest answered here.
net::awaitable<void> ReplayServer::Impl::serve_http(ServerStream& stream) {
    beast::error_code peer_ec;
    const bool loopback_peer = stream.socket().remote_endpoint(peer_ec).address().is_loopback();
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
        Request req;
        stream.next_layer().expires_after(first ? kRequestDeadline : kKeepAliveIdle);
        auto [ec, n] = co_await http::async_read(stream, buffer, req, kUseTuple);
        if (ec) {
            report_failure(ec, "read request");
            co_return;
        }
        stream.next_layer().expires_never();
        const auto target = schema::split_target(req.target());
        const std::string& path = target.first;
        const std::string& query = target.second;
        if (beast::websocket::is_upgrade(req)) {
            co_await serve_websocket(streaming, stream, std::move(req), query);
            run_end.activity_ended();  // played, or refused
            co_return;
        }
        if (auto sub = schema::sse_subscription(path, query);
            sub && req.method() == http::verb::get) {
            const bool more = co_await serve_sse(streaming, stream, std::move(req), *sub);
            run_end.activity_ended();
            if (more) {
                continue;
            }
            co_return;
        }
        Response res = co_await answer(req, path, query, loopback_peer && !peer_ec);
        const bool keep_alive = res.keep_alive();
        http::response_serializer<http::string_body> out{res};
        // A HEAD gets the head a GET would, and no body (not even a chunked body's last chunk).
        auto [wec, wn] = req.method() == http::verb::head
                             ? co_await http::async_write_header(stream, out, kUseTuple)
                             : co_await http::async_write(stream, out, kUseTuple);
        if (wec || !keep_alive) {
            co_await stream.async_drain(kUseTuple);
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

// The answer to a plain HTTP request: the control API, health and instance, a REST timeline, or
// the real server's refusals.
net::awaitable<Response> ReplayServer::Impl::answer(const Request& req, const std::string& path,
                                                    const std::string& query, bool loopback_peer) {
    if (ControlApi::owns(path)) {
        co_return co_await control_answer(req, path, query, loopback_peer);
    }
    // A client's request (not the control API's, which a dashboard polls): counted for
    // --exit-when-done.
    struct InFlight {
        Impl& impl;
        explicit InFlight(Impl& i) : impl(i) { impl.run_end.request_began(); }
        ~InFlight() { impl.run_end.request_ended(); }
        InFlight(const InFlight&) = delete;
        InFlight& operator=(const InFlight&) = delete;
    } in_flight(*this);
    if (req.method() == http::verb::options) {
        co_return cors_preflight(req);
    }
    HttpCall call = call_of(req, path, query);
    if (auto stub = harness.stub(call)) {
        co_return co_await stub_answer(req, path, query, std::move(*stub));
    }
    if (fixed_route(path)) {
        Response res = fixed_answer(req, path);
        journal_request(req, path, query, res, true);
        co_return res;
    }
    auto rest_answer = co_await rest_request(req, std::move(call));
    const bool matched = rest_answer.has_value();
    Response res;
    if (rest_answer) {
        res = std::move(*rest_answer);
    } else if (path.rfind("/api/v1/streaming", 0) == 0 || path.rfind("/api/", 0) != 0) {
        // Beyond the REST routes (/api/...: the web host's 404), what the streaming server
        // answers: an unknown channel, whatever the path.
        res = streaming_error(req, http::status::bad_request, "Unknown channel requested");
    } else {
        res = json_response(req, http::status::not_found, R"({"error":"Record not found"})");
    }
    journal_request(req, path, query, res, matched);
    co_return res;
}

// Writes a client's request and its answer in the journal.
void ReplayServer::Impl::journal_request(const Request& req, const std::string& path,
                                         const std::string& query, const Response& res,
                                         bool matched, const std::string& stub) {
    const std::string token = schema::request_token(req[http::field::authorization], query, "");
    ClientState& client = admission.client(token);
    harness.journal().add(
        JournalEntry{client.name, clock.tape_now(client.clock), client.position_ns,
                     std::string(req.method_string()), path, query, req.body(),
                     std::string(req[http::field::content_type]),
                     static_cast<int>(res.result_int()), matched, stub},
        token);
}

// The control API's answer: only to this machine's user (control_access.hpp), and never with CORS
// headers, which would let any web page read it.
net::awaitable<Response> ReplayServer::Impl::control_answer(const Request& req,
                                                            const std::string& path,
                                                            const std::string& query,
                                                            bool loopback_peer) {
    const ControlRequest who{req.method_string(), loopback_peer, req[http::field::host],
                             req[http::field::origin], req[http::field::authorization]};
    ControlAnswer a;
    std::string allow;  // a 405's
    if (auto refusal = control_refusal(who, path, query, options.require_token)) {
        a = {refusal->status, std::move(refusal->body)};
        allow = std::move(refusal->allow);
    } else {
        try {
            a = co_await control_request(path, query, req.body());
        } catch (const std::exception& e) {
            a = {500, schema::error_json(e.what())};
        }
    }
    Response res = json_response(req, static_cast<http::status>(a.status), std::move(a.body));
    res.erase(http::field::access_control_allow_origin);
    res.set(http::field::content_type, a.content_type);
    res.set(http::field::cache_control, "no-store");
    if (!allow.empty()) {
        res.set(http::field::allow, allow);
    }
    if (a.content_type.rfind("text/html", 0) == 0) {
        // The dashboard: its own script and styles, requests to this server only.
        res.set("Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src data:; frame-ancestors 'none'");
    }
    co_return res;
}

ReplayServer::ReplayServer(ReplayOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ReplayServer::~ReplayServer() = default;

std::uint16_t ReplayServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string ReplayServer::base_url() const {
    return (impl_->tls ? "wss://" : "ws://") + impl_->host_port();
}

int ReplayServer::run() {
    auto& impl = *impl_;
    if (impl.options.handle_signals) {
        impl.signals.add(SIGINT);
        impl.signals.add(SIGTERM);
    }
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
            if (!ec && impl.admission.clients().empty()) {
                std::cerr << "replay: no client connected within the idle timeout\n";
                impl.exit_code = 1;
                impl.ioc.stop();
            }
        });
    }
    net::steady_timer timeout(impl.ioc);
    if (impl.options.timeout_s > 0) {
        impl.run_end.start_timeout(timeout, impl.options.timeout_s);
    }
    impl.ioc.run();
    return impl.run_end.timed_out() ? 1 : impl.exit_code;
}

void ReplayServer::stop() {
    net::post(impl_->ioc, [this] { impl_->ioc.stop(); });
}

ReplayReport ReplayServer::report() {
    ReplayReport out;
    const auto clients = impl_->control.clients(impl_->run_end.ended_by_clients());
    const auto reports = make_reports(impl_->store, impl_->plan, clients);
    const auto verdict = judge(impl_->harness.expectations(), impl_->harness.journal(),
                               impl_->store, impl_->plan.session, clients, impl_->journal_times());
    out.json = reports_json(reports, clients, &verdict.report);
    out.junit = reports_junit(reports, clients, verdict.junit, verdict.journal_lines);
    out.unmet = verdict.unmet;
    for (const auto& r : reports) {
        out.verdicts.push_back(r.verdict);
        out.missed = out.missed || !r.missed.empty();
    }
    return out;
}

ControlAnswer ReplayServer::control(std::string path, std::string query, std::string body) {
    auto answer = std::make_shared<std::promise<ControlAnswer>>();
    auto reply = answer->get_future();
    net::co_spawn(impl_->ioc,
                  impl_->control_request(std::move(path), std::move(query), std::move(body)),
                  [answer](const std::exception_ptr& e, ControlAnswer a) {
                      if (e) {
                          answer->set_exception(e);
                      } else {
                          answer->set_value(std::move(a));
                      }
                  });
    if (reply.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        throw std::runtime_error("the replayer did not answer (is it running?)");
    }
    return reply.get();
}

std::string ReplayServer::status() { return control("/_mastotape/status", "").body; }

}  // namespace mastotape::replay
