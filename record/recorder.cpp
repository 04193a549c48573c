#include "record/recorder.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

#include "record/connection_end.hpp"
#include "record/rest_plan.hpp"
#include "record/tape_writer.hpp"
#include "schema/background_thread.hpp"
#include "schema/frame_classifier.hpp"
#include "schema/json_array.hpp"
#include "schema/json_text.hpp"
#include "schema/url.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using schema::FrameKind;

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr const char* kUserAgent = "mastotape/0.1 (+https://github.com/mastotape)";

std::int64_t wall_now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// What access tokens are made of (Mastodon's are base64url).
bool token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

// `value` with each occurrence of `token` replaced by "[token]". A token shorter than 16
// characters counts only where it stands alone, not inside a longer run of token characters:
// a short one ("t" in a test) must not turn every "t" of a log line, or of a recorded header, into
// the mark. A longer one counts wherever it is.
std::string redact(const std::string& value, const std::string& token) {
    if (token.empty()) {
        return value;
    }
    const auto alone = [&](std::size_t pos) {
        const std::size_t end = pos + token.size();
        return (pos == 0 || !token_char(value[pos - 1])) &&
               (end == value.size() || !token_char(value[end]));
    };
    std::string out;
    std::size_t copied = 0;
    for (auto pos = value.find(token); pos != std::string::npos; pos = value.find(token, pos + 1)) {
        if (pos >= copied && (token.size() >= 16 || alone(pos))) {
            out.append(value, copied, pos - copied);
            out += "[token]";
            copied = pos + token.size();
        }
    }
    out.append(value, copied);
    return out;
}

template <typename Fields>
std::string headers_json(const Fields& fields, const std::string& token) {
    std::string out = "{";
    bool first = true;
    for (const auto& f : fields) {
        if (!first) {
            out += ',';
        }
        first = false;
        schema::append_json_string(out, std::string(f.name_string()));
        out += ':';
        schema::append_json_string(out, redact(std::string(f.value()), token));
    }
    out += '}';
    return out;
}

// Splits an SSE body stream into frames: a comment line (with the blank line right after it, when
// that has arrived) or an event block ending in a blank line. Concatenated, the frames are the
// body.
class SseSplitter {
   public:
    void feed(std::string_view bytes) { pending_.append(bytes); }

    std::optional<std::string> next() {
        if (pending_.empty()) {
            return std::nullopt;
        }
        if (pending_.front() == ':' || pending_.front() == '\n') {
            const auto eol = pending_.find('\n');
            if (eol == std::string::npos) {
                return std::nullopt;
            }
            std::size_t end = eol + 1;
            if (pending_.front() == ':' && end < pending_.size() && pending_[end] == '\n') {
                ++end;
            }
            return take(end);
        }
        const auto blank = pending_.find("\n\n");
        if (blank == std::string::npos) {
            return std::nullopt;
        }
        return take(blank + 2);
    }

    std::size_t buffered() const { return pending_.size(); }

   private:
    std::string take(std::size_t n) {
        std::string out = pending_.substr(0, n);
        pending_.erase(0, n);
        return out;
    }
    std::string pending_;
};

std::string sse_path(const schema::Subscription& s) {
    std::string stream = s.stream;
    std::string query;
    if (stream.size() > 6 && stream.compare(stream.size() - 6, 6, ":media") == 0) {
        stream.resize(stream.size() - 6);
        query = "?only_media=true";
    }
    std::string path = stream;
    std::replace(path.begin(), path.end(), ':', '/');
    if (!s.param.empty()) {
        query = (s.stream == "list" ? "?list=" : "?tag=") + s.param;
    }
    return "/api/v1/streaming/" + path + query;
}

}  // namespace

double backoff_delay_s(double start_s, double cap_s, int attempt, double uniform01) {
    const double ceiling = std::min(cap_s, start_s * std::pow(2.0, std::min(attempt, 30)));
    return ceiling * uniform01;
}

struct Recorder::Impl {
    explicit Impl(RecordOptions o)
        : options(std::move(o)),
          ssl_ctx(ssl::context::tls_client),
          signals(ioc, SIGINT, SIGTERM),
          backoff_timer(ioc),
          status_timer(ioc),
          rng(options.seed != 0 ? options.seed : std::random_device{}()) {
        auto parsed = schema::parse_url(options.target);
        if (!parsed) {
            throw std::invalid_argument("cannot read \"" +
                                        schema::without_access_token(options.target) +
                                        "\" as an instance or streaming URL");
        }
        url = *parsed;
        instance_target = url.scheme == "https" || url.scheme == "http";
        rest_origin = url;
        rest_origin.scheme = url.tls() ? "https" : "http";
        rest_origin.target = "/";
        if (!options.rest_base.empty()) {
            auto rb = schema::parse_url(options.rest_base);
            if (!rb) {
                throw std::invalid_argument("cannot read --rest-base \"" + options.rest_base +
                                            "\" as a URL");
            }
            rest_origin = *rb;
        }
        if (url.scheme == "https" || url.scheme == "http") {
            // An instance: its streaming server is at the same origin unless it says otherwise.
            if (options.transport == schema::Transport::websocket) {
                url.scheme = url.scheme == "https" ? "wss" : "ws";
            }
        } else if (options.transport == schema::Transport::sse) {
            url.scheme = url.scheme == "wss" ? "https" : "http";
        }
        if (url.target == "/" || url.target.empty()) {
            url.target = "/api/v1/streaming";
        }
        if (options.transport == schema::Transport::sse && options.subscriptions.size() != 1) {
            throw std::invalid_argument(
                "SSE takes exactly one stream; use --transport websocket for several");
        }
        if (options.transport == schema::Transport::sse) {
            sse_label = options.subscriptions.front().label();
        }
        if (options.heartbeat_timeout_s <= 0) {
            options.heartbeat_timeout_s =
                options.transport == schema::Transport::websocket ? 75 : 40;
        }
        ssl_ctx.set_verify_mode(ssl::verify_peer);
        ssl_ctx.set_default_verify_paths();
        if (!options.cacert.empty()) {
            beast::error_code ec;
            ssl_ctx.load_verify_file(options.cacert, ec);
            if (ec) {
                throw std::invalid_argument(options.cacert + ": cannot load as a CA certificate (" +
                                            ec.message() + ")");
            }
        }
        auto store = std::make_unique<schema::TapeStore>(options.db, schema::OpenMode::create);
        schema::Session s;
        s.label = options.label;
        s.source = url.origin();
        s.instance = schema::without_access_token(options.target);
        s.transport = options.transport;
        s.subscriptions = options.subscriptions;
        s.started_wall_ns = wall_now();
        s.updated_wall_ns = s.started_wall_ns;
        s.settings_json =
            "{\"heartbeat_timeout_ms\":" +
            std::to_string(static_cast<std::int64_t>(options.heartbeat_timeout_s * 1000)) +
            ",\"token_in\":\"" +
            (options.token_in == TokenIn::header  ? "header"
             : options.token_in == TokenIn::query ? "query"
                                                  : "subprotocol") +
            "\"}";
        session_id = store->create_session(s);
        started_wall = s.started_wall_ns;
        t0 = Clock::now();
        WriterOptions wo;
        wo.batch_interval = std::chrono::milliseconds(options.batch_interval_ms);
        wo.batch_records = options.batch_records;
        wo.queue_limit_bytes = options.write_buffer_bytes;
        wo.sync_full = options.sync_full;
        writer = std::make_unique<TapeWriter>(std::move(store), session_id, wo);
        status_line = !options.quiet && !options.json_log && ::isatty(STDERR_FILENO) != 0;
    }

    RecordOptions options;
    schema::Url url;
    schema::Url rest_origin;  // where REST requests go
    bool instance_target = false;
    net::io_context ioc;       // the network thread: connections, frames, the writer's queue
    net::io_context rest_ioc;  // the REST thread: backfill
    ssl::context ssl_ctx;
    net::signal_set signals;
    net::steady_timer backoff_timer;
    net::steady_timer status_timer;
    std::mt19937_64 rng;
    std::unique_ptr<TapeWriter> writer;
    std::int64_t session_id = 0;
    std::int64_t started_wall = 0;
    Clock::time_point t0;

    // Counters and state (network thread only).
    std::int64_t next_seq = 1;
    std::int64_t next_client_seq = 1;
    std::int64_t next_connection = 0;
    std::int64_t next_gap = 0;
    std::int64_t events = 0;
    std::int64_t heartbeats = 0;
    std::int64_t gaps = 0;
    std::int64_t backfilled = 0;
    std::int64_t current_connection = 0;
    std::int64_t next_backfill_seq = 1;
    std::map<std::string, std::string> newest_seen;  // backfill target key -> newest id streamed
    // What each (stream label, event) the stream delivered means for backfill: where that
    // target's newest id so far is kept. A session has a handful, looked up without copying.
    struct EventTarget {
        std::string label;
        std::string event;
        std::string* newest = nullptr;  // into newest_seen; null: not a backfill target
    };
    std::vector<EventTarget> event_targets;
    std::string sse_label;  // the one stream of an SSE session, for frames that carry no label
    std::unordered_set<std::string> streamed_ids;
    std::deque<const std::string*> streamed_order;  // into streamed_ids, oldest first
    Clock::time_point last_activity;
    std::string state = "starting";
    bool status_line = false;
    bool backpressure_reported = false;

    // Stopping.
    bool stop_requested = false;
    // Stopped by the user: backfills in flight are cut short (read on the REST thread).
    std::atomic<bool> interrupted = false;
    std::string stop_reason;  // stopped, duration, count, error
    std::string stop_detail;
    int exit_code = 0;
    int signals_seen = 0;
    std::function<void()> close_current;         // closes the live connection with 1000
    std::optional<schema::Connection> live_row;  // the connection in progress, for a hard stop
    std::optional<schema::Gap> open_gap;         // the gap in progress
    std::set<net::steady_timer*> sleepers;       // backfill waits (REST thread only)
    int backfills_in_flight = 0;
    bool session_done = false;  // record_session has returned

    // Ends ioc.run() once the session is over and no backfill is left. Waiting for the io_context
    // to run out of work is not enough: what a finished connection left behind (a close's
    // timeout, the watchdog's timer) would hold it for seconds.
    void finish_when_idle() {
        if (session_done && backfills_in_flight == 0) {
            ioc.stop();
        }
    }
    std::map<std::string, std::string> gap_start_newest;  // newest ids when the gap began

    std::int64_t offset_now() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    }

    void log(const std::string& line) {
        if (options.quiet) {
            return;
        }
        if (status_line) {
            std::cerr << "\r\033[K";
        }
        if (options.json_log) {
            std::string out = "{\"offset_ns\":" + std::to_string(offset_now()) + ",\"message\":";
            schema::append_json_string(out, redact(line, options.token));
            std::cerr << out << "}\n";
        } else {
            std::cerr << "record: " << redact(line, options.token) << '\n';
        }
    }

    void push(TapeWriter::Record r) {
        if (!writer->push(std::move(r))) {
            report_backpressure();
        }
    }

    // Holds reading while the writer is behind (WriterOptions::queue_limit_bytes).
    net::awaitable<void> wait_for_writer() {
        while (!writer->has_room()) {
            report_backpressure();
            net::steady_timer pause(ioc);
            pause.expires_after(std::chrono::milliseconds(20));
            co_await pause.async_wait(kUseTuple);
        }
    }

    void report_backpressure() {
        if (!backpressure_reported) {
            backpressure_reported = true;
            log("the disk is not keeping up: the writer queue is full, reading slows down until it "
                "drains");
        }
    }

    // `cut_backfill`: an interrupt cuts a backfill in flight short; any other stop lets it finish
    // (it is bounded by --backfill-limit and the rate-limit wait cap).
    void request_stop(const std::string& reason, const std::string& detail,
                      bool cut_backfill = false) {
        if (stop_requested) {
            return;
        }
        stop_requested = true;
        stop_reason = reason;
        stop_detail = detail;
        backoff_timer.cancel();
        interrupted = cut_backfill;
        if (cut_backfill) {
            net::post(rest_ioc, [this] {
                for (auto* t : sleepers) {
                    t->cancel();
                }
            });
        }
        if (close_current) {
            close_current();
        }
    }

    void record_frame(FrameKind kind, std::string bytes) {
        schema::Frame f;
        f.session_id = session_id;
        f.seq = next_seq++;
        f.connection_idx = current_connection;
        f.offset_ns = offset_now();
        f.wall_ns = started_wall + f.offset_ns;
        f.columns = schema::expected_columns(options.transport, kind, bytes, sse_label);
        f.bytes = std::move(bytes);
        if (f.columns.kind == FrameKind::event) {
            ++events;
            note_event(f);
        } else if (f.columns.kind == FrameKind::ping ||
                   (f.columns.kind == FrameKind::comment && f.bytes.rfind(":)", 0) != 0)) {
            ++heartbeats;
        }
        last_activity = Clock::now();
        push(std::move(f));
        if (options.max_events > 0 && events >= options.max_events) {
            request_stop("count", std::to_string(options.max_events) + " events recorded");
        }
    }

    void record_client(const std::string& kind, std::string bytes) {
        schema::ClientMessage m;
        m.session_id = session_id;
        m.seq = next_client_seq++;
        m.connection_idx = current_connection;
        m.offset_ns = offset_now();
        m.wall_ns = started_wall + m.offset_ns;
        m.after_seq = next_seq - 1;
        m.kind = kind;
        m.bytes = std::move(bytes);
        push(std::move(m));
    }

    std::vector<std::string> subscribe_messages() const {
        std::vector<std::string> out;
        for (const auto& s : options.subscriptions) {
            std::string msg = "{\"type\":\"subscribe\",\"stream\":";
            schema::append_json_string(msg, s.stream);
            if (!s.param.empty()) {
                msg += s.stream == "list" ? ",\"list\":" : ",\"tag\":";
                schema::append_json_string(msg, s.param);
            }
            msg += "}";
            out.push_back(msg);
        }
        return out;
    }

    // The request target: one stream rides the query, several go as subscribe frames.
    std::string ws_target(bool with_token) const {
        std::string target = url.target;
        std::string query;
        if (options.subscriptions.size() == 1) {
            const auto& s = options.subscriptions.front();
            query = "stream=" + s.stream;
            if (!s.param.empty()) {
                query += (s.stream == "list" ? "&list=" : "&tag=") + s.param;
            }
        }
        if (with_token && options.token_in == TokenIn::query && !options.token.empty()) {
            query += (query.empty() ? "" : "&") + std::string("access_token=") + options.token;
        }
        if (!query.empty()) {
            target += (target.find('?') == std::string::npos ? "?" : "&") + query;
        }
        return target;
    }

    std::string sse_target(bool with_token) const {
        std::string target = sse_path(options.subscriptions.front());
        if (with_token && options.token_in == TokenIn::query && !options.token.empty()) {
            target += (target.find('?') == std::string::npos ? "?" : "&") +
                      std::string("access_token=") + options.token;
        }
        return target;
    }

    // ---- connecting ----

    // Resolves and connects with a deadline; returns the error.
    net::awaitable<beast::error_code> connect_tcp(beast::tcp_stream& stream) {
        co_return co_await connect_to(stream, url);
    }

    net::awaitable<beast::error_code> connect_to(beast::tcp_stream& stream, schema::Url target) {
        tcp::resolver resolver(stream.get_executor());
        auto [rec, results] =
            co_await resolver.async_resolve(target.host, std::to_string(target.port), kUseTuple);
        if (rec) {
            co_return rec;
        }
        stream.expires_after(std::chrono::milliseconds(
            static_cast<std::int64_t>(options.handshake_timeout_s * 1000)));
        auto [cec, ep] = co_await stream.async_connect(results, kUseTuple);
        if (!cec) {
            beast::error_code ignored;
            stream.socket().set_option(tcp::no_delay(true), ignored);  // pongs go out at once
        }
        co_return cec;
    }

    net::awaitable<beast::error_code> tls_handshake(ssl::stream<beast::tcp_stream>& stream) {
        co_return co_await tls_handshake_with(stream, url.host);
    }

    // SNI and host name verification against the trusted CAs; verification is never off.
    net::awaitable<beast::error_code> tls_handshake_with(ssl::stream<beast::tcp_stream>& stream,
                                                         std::string host) {
        if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
            co_return beast::error_code(static_cast<int>(::ERR_get_error()),
                                        net::error::get_ssl_category());
        }
        stream.set_verify_callback(ssl::host_name_verification(host));
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
        co_return ec;
    }

    // Runs the watchdog for one connection: closes it once silent for the heartbeat timeout.
    // `timer` is cancelled when the connection ends, which ends the watchdog.
    net::awaitable<void> watchdog(std::shared_ptr<net::steady_timer> timer,
                                  std::shared_ptr<bool> alive, std::shared_ptr<bool> fired,
                                  std::function<void()> close_socket) {
        const auto timeout = std::chrono::milliseconds(
            static_cast<std::int64_t>(options.heartbeat_timeout_s * 1000));
        while (*alive) {
            timer->expires_at(last_activity + timeout);
            co_await timer->async_wait(kUseTuple);
            if (*alive && Clock::now() - last_activity >= timeout) {
                *fired = true;
                close_socket();
                co_return;
            }
        }
    }

    // Starts the watchdog of a connection; the returned guard stops it.
    struct WatchdogGuard {
        std::shared_ptr<net::steady_timer> timer;
        std::shared_ptr<bool> alive;
        std::shared_ptr<bool> fired;
        ~WatchdogGuard() {
            *alive = false;
            timer->cancel();
        }
    };

    std::unique_ptr<WatchdogGuard> start_watchdog(std::function<void()> close_socket) {
        auto g = std::make_unique<WatchdogGuard>();
        g->timer = std::make_shared<net::steady_timer>(ioc);
        g->alive = std::make_shared<bool>(true);
        g->fired = std::make_shared<bool>(false);
        net::co_spawn(ioc, watchdog(g->timer, g->alive, g->fired, std::move(close_socket)),
                      net::detached);
        return g;
    }

    template <bool Tls>
    net::awaitable<Outcome> websocket_connection(schema::Connection& conn) {
        using Next = std::conditional_t<Tls, ssl::stream<beast::tcp_stream>, beast::tcp_stream>;
        Outcome out;
        websocket::stream<Next> ws = [&] {
            if constexpr (Tls) {
                return websocket::stream<Next>(ioc, ssl_ctx);
            } else {
                return websocket::stream<Next>(ioc);
            }
        }();
        auto& tcp_layer = beast::get_lowest_layer(ws);
        if (auto ec = co_await connect_tcp(tcp_layer)) {
            out.cause = "network-error";
            out.detail =
                "connect to " + url.host + ":" + std::to_string(url.port) + ": " + ec.message();
            co_return out;
        }
        if constexpr (Tls) {
            if (auto ec = co_await tls_handshake(ws.next_layer())) {
                out.cause = "tls-error";
                out.detail = "TLS handshake with " + url.host + ": " + ec.message();
                co_return out;
            }
        }
        tcp_layer.expires_never();
        ws.set_option(websocket::stream_base::timeout{
            std::chrono::milliseconds(
                static_cast<std::int64_t>(options.handshake_timeout_s * 1000)),
            websocket::stream_base::none(), false});
        const std::string token = options.token;
        const TokenIn token_in = options.token_in;
        ws.set_option(
            websocket::stream_base::decorator([token, token_in](websocket::request_type& req) {
                req.set(http::field::user_agent, kUserAgent);
                if (!token.empty() && token_in == TokenIn::header) {
                    req.set(http::field::authorization, "Bearer " + token);
                } else if (!token.empty() && token_in == TokenIn::subprotocol) {
                    req.set(http::field::sec_websocket_protocol, token);
                }
            }));
        ws.read_message_max(options.max_frame);
        ws.auto_fragment(false);
        websocket::response_type res;
        const std::string host = url.port == 443 || url.port == 80
                                     ? url.host
                                     : url.host + ":" + std::to_string(url.port);
        auto [hec] = co_await ws.async_handshake(res, host, ws_target(true), kUseTuple);
        if (res.result_int() != 0) {
            out.http_status = res.result_int();
            conn.response_headers_json = headers_json(res, options.token);
            out.error_message = std::string(res["X-Error-Message"]);
        }
        if (hec) {
            out.cause = is_ssl_error(hec) ? "tls-error" : "handshake-failed";
            out.detail =
                hec == websocket::error::upgrade_declined && out.http_status
                    ? "HTTP " + std::to_string(*out.http_status) + " " + std::string(res.reason())
                    : hec.message();
            co_return out;
        }
        // The handshake is done: from here on the stream has no deadline but the watchdog.
        ws.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                      websocket::stream_base::none(), false});
        out.established = true;
        conn.handshake_offset_ns = offset_now();
        conn.http_status = 101;
        conn.subprotocol =
            redact(std::string(res[http::field::sec_websocket_protocol]), options.token);
        push(conn);
        live_row = conn;
        last_activity = Clock::now();
        state = "connected";
        log("connection " + std::to_string(conn.idx) + " up: " + url.origin() + ws_target(false));
        connection_up(*conn.handshake_offset_ns);

        ws.control_callback([this, &ws](websocket::frame_type kind, beast::string_view payload) {
            if (kind == websocket::frame_type::ping) {
                record_frame(FrameKind::ping, std::string(payload));
                // Beast answers every ping with a pong carrying the same payload.
                record_client("pong", std::string(payload));
            } else if (kind == websocket::frame_type::pong) {
                record_frame(FrameKind::pong, std::string(payload));
            }
            (void)ws;
        });
        for (const auto& msg :
             options.subscriptions.size() > 1 ? subscribe_messages() : std::vector<std::string>{}) {
            record_client("text", msg);
            ws.text(true);
            auto [wec, wn] = co_await ws.async_write(net::buffer(msg), kUseTuple);
            if (wec) {
                classify_end(wec, out);
                co_return out;
            }
        }

        // Closing with 1000. Beast 1.81 deadlocks when its close operation waits for the read
        // lock while a read holds it and finds the server's close frame already buffered (each
        // waits for the other's lock, with no I/O left to wake either). So a close starts beside
        // a read only while that read waits on the socket; otherwise the loop closes before
        // reading again, and once a close is under way the loop waits for it instead of reading.
        bool closing = false;        // a stop asked for the close
        bool reading = false;        // the loop waits in ws.async_read
        bool close_started = false;  // ws.async_close is under way
        bool close_done = false;
        net::steady_timer close_wait(ioc);
        const auto guard = start_watchdog([&tcp_layer] { tcp_layer.socket().close(); });
        auto start_close = [&] {
            close_started = true;
            // A server that never answers the close must not hold the recorder: 5 s, then the
            // TCP connection goes.
            ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(5),
                                                          websocket::stream_base::none(), false});
            ws.async_close(websocket::close_code::normal,
                           [&close_done, &close_wait, alive = guard->alive](beast::error_code) {
                               if (*alive) {
                                   close_done = true;
                                   close_wait.cancel();
                               }
                           });
        };
        close_current = [this, &closing, &reading, &start_close] {
            if (closing) {
                return;
            }
            closing = true;
            record_client("close", std::string("\x03\xe8", 2));
            if (reading) {
                start_close();
            }
        };
        const auto& fired = guard->fired;

        beast::flat_buffer buffer;
        for (;;) {
            if (closing) {
                if (!close_started) {
                    start_close();
                }
                while (!close_done) {
                    close_wait.expires_after(std::chrono::seconds(6));
                    auto [wec] = co_await close_wait.async_wait(kUseTuple);
                    if (!wec) {
                        tcp_layer.socket().close();  // the close's own timeout did not end it
                        break;
                    }
                }
                close_current = nullptr;
                out.cause = "local-stop";
                out.close_code = 1000;
                co_return out;
            }
            if (!writer->has_room()) {
                co_await wait_for_writer();
                continue;  // a stop may have come meanwhile
            }
            reading = true;
            auto [rec, n] = co_await ws.async_read(buffer, kUseTuple);
            reading = false;
            if (rec) {
                close_current = nullptr;
                if (*fired) {
                    out.cause = "heartbeat-timeout";
                    out.detail =
                        "no frame or ping for " +
                        std::to_string(static_cast<std::int64_t>(options.heartbeat_timeout_s)) +
                        " s";
                } else if (closing) {
                    out.cause = "local-stop";
                    out.close_code = 1000;
                } else if (rec == websocket::error::closed) {
                    const auto reason = ws.reason();
                    // Beast has answered with a close frame echoing the code (1000 for none),
                    // without the reason: that is what went on the wire.
                    const auto echoed = reason.code == websocket::close_code::none
                                            ? std::uint16_t{1000}
                                            : static_cast<std::uint16_t>(reason.code);
                    record_client("close", std::string{static_cast<char>(echoed >> 8),
                                                       static_cast<char>(echoed & 0xff)});
                    if (reason.code == websocket::close_code::none) {
                        out.cause = "close-no-code";
                        out.close_code = 1005;
                    } else {
                        out.cause = "close";
                        out.close_code = static_cast<std::int64_t>(reason.code);
                        out.close_reason = std::string(reason.reason.data(), reason.reason.size());
                    }
                } else {
                    classify_end(rec, out);
                }
                co_return out;
            }
            const bool text = ws.got_text();
            std::string bytes = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
            if (text) {
                record_frame(FrameKind::text, std::move(bytes));
            } else {
                record_frame(FrameKind::binary, std::move(bytes));
            }
        }
    }

    template <bool Tls>
    net::awaitable<Outcome> sse_connection(schema::Connection& conn) {
        using Stream = std::conditional_t<Tls, ssl::stream<beast::tcp_stream>, beast::tcp_stream>;
        Outcome out;
        Stream stream = [&] {
            if constexpr (Tls) {
                return Stream(ioc, ssl_ctx);
            } else {
                return Stream(ioc);
            }
        }();
        auto& tcp_layer = beast::get_lowest_layer(stream);
        if (auto ec = co_await connect_tcp(tcp_layer)) {
            out.cause = "network-error";
            out.detail =
                "connect to " + url.host + ":" + std::to_string(url.port) + ": " + ec.message();
            co_return out;
        }
        if constexpr (Tls) {
            if (auto ec = co_await tls_handshake(stream)) {
                out.cause = "tls-error";
                out.detail = "TLS handshake with " + url.host + ": " + ec.message();
                co_return out;
            }
        }
        http::request<http::empty_body> req{http::verb::get, sse_target(true), 11};
        req.set(http::field::host, url.port == 443 || url.port == 80
                                       ? url.host
                                       : url.host + ":" + std::to_string(url.port));
        req.set(http::field::user_agent, kUserAgent);
        req.set(http::field::accept, "text/event-stream");
        if (!options.token.empty() && options.token_in == TokenIn::header) {
            req.set(http::field::authorization, "Bearer " + options.token);
        }
        tcp_layer.expires_after(std::chrono::milliseconds(
            static_cast<std::int64_t>(options.handshake_timeout_s * 1000)));
        auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
        if (wec) {
            out.cause = is_ssl_error(wec) ? "tls-error" : "network-error";
            out.detail = wec.message();
            co_return out;
        }
        beast::flat_buffer buffer;
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);
        auto [rec, rn] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
        if (rec) {
            out.cause = rec == beast::error::timeout ? "handshake-failed" : "network-error";
            out.detail = "reading the response: " + rec.message();
            co_return out;
        }
        const auto& head = parser.get();
        out.http_status = head.result_int();
        conn.response_headers_json = headers_json(head.base(), options.token);
        if (head.result() != http::status::ok) {
            // Read the small JSON error body for its message.
            std::string body;
            char chunk[4096];
            while (!parser.is_done() && body.size() < 65536) {
                parser.get().body().data = chunk;
                parser.get().body().size = sizeof chunk;
                auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
                body.append(chunk, sizeof chunk - parser.get().body().size);
                if (bec && bec != http::error::need_buffer) {
                    break;
                }
            }
            const auto pos = body.find("\"error\":\"");
            if (pos != std::string::npos) {
                const auto end = body.find('"', pos + 9);
                out.error_message = body.substr(
                    pos + 9, end == std::string::npos ? std::string::npos : end - pos - 9);
            }
            out.cause = "handshake-failed";
            out.detail =
                "HTTP " + std::to_string(head.result_int()) + " " + std::string(head.reason());
            co_return out;
        }
        tcp_layer.expires_never();
        out.established = true;
        conn.handshake_offset_ns = offset_now();
        conn.http_status = 200;
        push(conn);
        live_row = conn;
        last_activity = Clock::now();
        state = "connected";
        log("connection " + std::to_string(conn.idx) + " up: " + url.origin() + sse_target(false));
        connection_up(*conn.handshake_offset_ns);

        bool closing = false;
        close_current = [&tcp_layer, &closing] {
            closing = true;
            tcp_layer.socket().close();
        };
        const auto guard = start_watchdog([&tcp_layer] { tcp_layer.socket().close(); });
        const auto& fired = guard->fired;
        SseSplitter splitter;
        std::vector<char> chunk(64 * 1024);
        for (;;) {
            if (parser.is_done()) {
                close_current = nullptr;
                out.cause = "close-no-code";
                out.detail = "the server ended the response";
                co_return out;
            }
            co_await wait_for_writer();
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            // read_some, not read: an event is recorded when it arrives, not when 64 KB have.
            auto [bec, bn] = co_await http::async_read_some(stream, buffer, parser, kUseTuple);
            const std::size_t got = chunk.size() - parser.get().body().size;
            splitter.feed(std::string_view(chunk.data(), got));
            while (auto frame = splitter.next()) {
                record_frame(FrameKind::text, std::move(*frame));
            }
            if (splitter.buffered() > options.max_frame) {
                bec = http::error::body_limit;
            }
            if (bec && bec != http::error::need_buffer) {
                close_current = nullptr;
                if (*fired) {
                    out.cause = "heartbeat-timeout";
                    out.detail =
                        "no event or heartbeat for " +
                        std::to_string(static_cast<std::int64_t>(options.heartbeat_timeout_s)) +
                        " s";
                } else if (closing) {
                    out.cause = "local-stop";
                } else {
                    classify_end(bec, out);
                }
                co_return out;
            }
        }
    }

    // ---- REST ----

    struct HttpResult {
        std::string error;  // transport failure; empty when a response arrived
        int status = 0;
        std::string body;
        std::string link;
        std::string rate_remaining;
        std::string rate_reset;
    };

    template <bool Tls>
    net::awaitable<HttpResult> http_get_on(schema::Url target, bool with_token) {
        using Stream = std::conditional_t<Tls, ssl::stream<beast::tcp_stream>, beast::tcp_stream>;
        HttpResult out;
        const auto ex = co_await net::this_coro::executor;  // the thread it runs on
        Stream stream = [&] {
            if constexpr (Tls) {
                return Stream(ex, ssl_ctx);
            } else {
                return Stream(ex);
            }
        }();
        auto& tcp_layer = beast::get_lowest_layer(stream);
        if (auto ec = co_await connect_to(tcp_layer, target)) {
            out.error = "connect to " + target.host + ": " + ec.message();
            co_return out;
        }
        if constexpr (Tls) {
            if (auto ec = co_await tls_handshake_with(stream, target.host)) {
                out.error = "TLS handshake with " + target.host + ": " + ec.message();
                co_return out;
            }
        }
        http::request<http::empty_body> req{http::verb::get, target.target, 11};
        req.set(http::field::host, target.port == 443 || target.port == 80
                                       ? target.host
                                       : target.host + ":" + std::to_string(target.port));
        req.set(http::field::user_agent, kUserAgent);
        req.set(http::field::accept, "application/json");
        if (with_token && !options.token.empty()) {
            req.set(http::field::authorization, "Bearer " + options.token);
        }
        tcp_layer.expires_after(std::chrono::milliseconds(
            static_cast<std::int64_t>(options.handshake_timeout_s * 1000)));
        auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
        if (wec) {
            out.error = wec.message();
            co_return out;
        }
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
        if (rec) {
            out.error = rec.message();
            co_return out;
        }
        const auto& res = parser.get();
        out.status = res.result_int();
        out.body = res.body();
        out.link = std::string(res["Link"]);
        out.rate_remaining = std::string(res["X-RateLimit-Remaining"]);
        out.rate_reset = std::string(res["X-RateLimit-Reset"]);
        beast::error_code ignored;
        tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return out;
    }

    net::awaitable<HttpResult> http_get(schema::Url target, bool with_token) {
        if (target.tls()) {
            co_return co_await http_get_on<true>(target, with_token);
        }
        co_return co_await http_get_on<false>(target, with_token);
    }

    // For an instance target: its streaming URL from /api/v2/instance, then /api/v1/instance,
    // else the instance host itself.
    net::awaitable<void> discover() {
        for (const char* path : {"/api/v2/instance", "/api/v1/instance"}) {
            schema::Url u = rest_origin;
            u.target = path;
            const HttpResult r = co_await http_get(u, false);
            if (!r.error.empty() || r.status != 200) {
                continue;
            }
            const auto streaming = streaming_url_from_instance(r.body);
            if (!streaming) {
                continue;
            }
            auto parsed = schema::parse_url(*streaming);
            if (!parsed) {
                continue;
            }
            const std::string target = url.target;
            url = *parsed;
            url.target = target;
            if (options.transport == schema::Transport::sse) {
                url.scheme = url.tls() ? "https" : "http";
            } else if (url.scheme == "https" || url.scheme == "http") {
                url.scheme = url.tls() ? "wss" : "ws";
            }
            log("streaming server from " + std::string(path) + ": " + url.origin());
            co_return;
        }
        log("no streaming URL in the instance documents; streaming from " + url.origin());
    }

    // Seconds until an X-RateLimit-Reset time (ISO 8601 UTC), bounded by the cap.
    double seconds_until(const std::string& iso) const {
        std::tm tm{};
        if (iso.size() < 19 ||
            strptime(iso.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
            return 5;
        }
        const auto reset = std::chrono::system_clock::from_time_t(timegm(&tm));
        const double s =
            std::chrono::duration<double>(reset - std::chrono::system_clock::now()).count();
        return std::clamp(s, 0.0, options.rate_limit_wait_cap_s);
    }

    // Sleeps, or less when the recording stops.
    net::awaitable<void> sleep_s(double seconds) {
        if (interrupted) {
            co_return;
        }
        net::steady_timer t(co_await net::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000)));
        sleepers.insert(&t);
        co_await t.async_wait(kUseTuple);
        sleepers.erase(&t);
    }

    // ---- backfill: on the REST thread, so that a page's parse or a TLS handshake never delays
    // the stamping of a frame on the network thread. What it finds goes back to the network
    // thread, which numbers it, marks what the stream already delivered, and queues it.

    void on_network_thread(std::function<void()> f) { net::post(ioc, std::move(f)); }

    // Fetches what a gap missed: for each endpoint, pages after the newest id seen before the gap,
    // following rel="prev" until a page is empty or the limit is reached. Never fatal: a failure is
    // recorded on the gap.
    net::awaitable<void> backfill(schema::Gap gap, std::map<std::string, std::string> newest) {
        gap.backfill_status = "ok";
        std::string errors;
        std::int64_t fetched = 0;
        bool cut_short = false;
        for (const auto& target : backfill_targets(options.subscriptions)) {
            const auto seen = newest.find(target.key());
            if (seen == newest.end()) {
                continue;  // nothing seen there yet: no place to start from
            }
            schema::Url page = rest_origin;
            page.target = target.endpoint + "?" + (target.query.empty() ? "" : target.query + "&") +
                          "min_id=" + seen->second + "&limit=40";
            int retries = 0;
            while (fetched < options.backfill_limit) {
                if (interrupted) {
                    cut_short = true;
                    break;
                }
                const HttpResult r = co_await http_get(page, true);
                if (!r.error.empty()) {
                    errors += (errors.empty() ? "" : "; ") + target.endpoint + ": " + r.error;
                    break;
                }
                if (r.status == 429 && retries++ < 3) {
                    const double wait = seconds_until(r.rate_reset);
                    on_network_thread([this, wait] {
                        log("backfill rate-limited (429); waiting " +
                            std::to_string(static_cast<int>(wait)) + " s");
                    });
                    co_await sleep_s(wait);
                    continue;
                }
                if (r.status != 200) {
                    errors += (errors.empty() ? "" : "; ") + target.endpoint + ": HTTP " +
                              std::to_string(r.status);
                    break;
                }
                const auto elements = schema::split_json_array(r.body);
                if (!elements) {
                    errors += (errors.empty() ? "" : "; ") + target.endpoint +
                              ": the response is not a JSON array";
                    break;
                }
                if (elements->empty()) {
                    break;
                }
                const std::string endpoint_query = page.target.substr(page.target.find('?') + 1);
                std::vector<schema::BackfillItem> items;
                for (const auto element : *elements) {
                    if (fetched >= options.backfill_limit) {
                        break;
                    }
                    schema::BackfillItem item;
                    item.session_id = session_id;
                    item.gap_idx = gap.idx;
                    item.offset_ns = offset_now();
                    item.wall_ns = started_wall + item.offset_ns;
                    item.endpoint = target.endpoint;
                    item.query = schema::without_access_token(endpoint_query);
                    item.http_status = r.status;
                    item.object_id = schema::entity_id(element).value_or("");
                    item.body = std::string(element);
                    items.push_back(std::move(item));
                    ++fetched;
                }
                on_network_thread([this, items = std::move(items)]() mutable {
                    for (auto& item : items) {
                        item.seq = next_backfill_seq++;
                        item.already_streamed = streamed_ids.count(item.object_id) > 0;
                        ++backfilled;
                        push(std::move(item));
                    }
                });
                const auto prev = link_url(r.link, "prev");
                if (!prev) {
                    break;
                }
                auto next_page = schema::parse_url(*prev);
                if (!next_page) {
                    break;
                }
                page.target = next_page->target;
                if (r.rate_remaining == "0") {
                    co_await sleep_s(seconds_until(r.rate_reset));
                }
            }
        }
        gap.backfilled = fetched;
        if (cut_short && errors.empty()) {
            errors = "the recording stopped before the backfill finished";
        }
        if (!errors.empty()) {
            gap.backfill_status = fetched > 0 ? "partial" : "failed";
            gap.backfill_error = errors;
        }
        on_network_thread([this, gap, fetched, errors] {
            push(gap);
            if (fetched > 0 || !errors.empty()) {
                log("gap " + std::to_string(gap.idx) + " backfill " + gap.backfill_status + ": " +
                    std::to_string(fetched) + " items" +
                    (errors.empty() ? "" : " (" + errors + ")"));
            }
        });
    }

    // Tracks what the stream delivered: newest id per backfill target, and recent object ids.
    void note_event(const schema::Frame& f) {
        if (!f.columns.object_id || !f.columns.event) {
            return;
        }
        // A delete names an item without delivering it: a backfilled item deleted on the stream
        // before its page came was not "already streamed".
        if (*f.columns.event != "delete") {
            const auto [it, added] = streamed_ids.insert(*f.columns.object_id);
            if (added) {
                streamed_order.push_back(&*it);  // elements of an unordered_set stay put
                if (streamed_order.size() > 200'000) {
                    streamed_ids.erase(streamed_ids.find(*streamed_order.front()));
                    streamed_order.pop_front();
                }
            }
        }
        const std::string& label = f.columns.stream ? *f.columns.stream : sse_label;
        const std::string& event = *f.columns.event;
        auto cached = std::find_if(
            event_targets.begin(), event_targets.end(),
            [&](const EventTarget& t) { return t.event == event && t.label == label; });
        if (cached == event_targets.end()) {
            EventTarget t{label, event, nullptr};
            if (const auto target = target_of_event(label, event)) {
                t.newest = &newest_seen[target->key()];  // map nodes stay where they are
            }
            event_targets.push_back(std::move(t));
            cached = std::prev(event_targets.end());
        }
        if (std::string* newest = cached->newest) {
            if (newest->empty() || schema::compare_ids(*f.columns.object_id, *newest) > 0) {
                *newest = *f.columns.object_id;
            }
        }
    }

    // Closes the open gap at a new connection's handshake and starts its backfill.
    void connection_up(std::int64_t handshake_offset) {
        if (!open_gap) {
            return;
        }
        open_gap->end_offset_ns = handshake_offset;
        open_gap->end_wall_ns = started_wall + handshake_offset;
        if (options.backfill) {
            open_gap->backfill_status = "running";
            push(*open_gap);
            ++backfills_in_flight;
            // The network thread's loop must not run out of work while the REST thread backfills.
            net::co_spawn(rest_ioc, backfill(*open_gap, gap_start_newest),
                          [this, work = net::make_work_guard(ioc)](std::exception_ptr e) mutable {
                              std::string error;
                              if (e) {
                                  try {
                                      std::rethrow_exception(e);
                                  } catch (const std::exception& ex) {
                                      error = ex.what();
                                  }
                              }
                              on_network_thread([this, error] {
                                  if (!error.empty()) {
                                      log("backfill stopped by an error: " + error);
                                  }
                                  --backfills_in_flight;
                                  finish_when_idle();
                              });
                              work.reset();
                          });
        } else {
            open_gap->backfill_status = "skipped";
            push(*open_gap);
        }
        open_gap.reset();
    }

    // ---- the session ----

    net::awaitable<void> record_session() {
        int failures = 0;
        std::int64_t reconnects = 0;
        if (instance_target && options.discover) {
            co_await discover();
        }
        while (!stop_requested) {
            schema::Connection conn;
            conn.session_id = session_id;
            conn.idx = next_connection++;
            current_connection = conn.idx;
            conn.url = url.origin() + (options.transport == schema::Transport::websocket
                                           ? ws_target(false)
                                           : sse_target(false));
            conn.started_offset_ns = offset_now();
            conn.started_wall_ns = started_wall + conn.started_offset_ns;
            push(conn);
            state = "connecting";
            Outcome out;
            const bool tls = url.tls();
            if (options.transport == schema::Transport::websocket && tls) {
                out = co_await websocket_connection<true>(conn);
            } else if (options.transport == schema::Transport::websocket) {
                out = co_await websocket_connection<false>(conn);
            } else if (tls) {
                out = co_await sse_connection<true>(conn);
            } else {
                out = co_await sse_connection<false>(conn);
            }
            conn.ended_offset_ns = offset_now();
            conn.ended_wall_ns = started_wall + *conn.ended_offset_ns;
            conn.end_cause = out.cause;
            conn.close_code = out.close_code;
            conn.close_reason = out.close_reason;
            conn.end_detail = out.detail;
            if (out.http_status && !out.established) {
                conn.http_status = out.http_status;
            }
            conn.error_message = out.error_message;
            push(conn);
            live_row.reset();

            if (out.established && open_gap) {
                // Closed at this connection's handshake (pushed below with the new state).
            }
            if (out.established) {
                failures = 0;
                log("connection " + std::to_string(conn.idx) + " ended: " + out.cause +
                    (out.close_code ? " " + std::to_string(*out.close_code) : std::string()) +
                    (out.detail.empty() ? std::string() : " (" + out.detail + ")"));
            } else {
                log("connection " + std::to_string(conn.idx) + " failed: " + out.detail +
                    (out.error_message.empty() ? std::string()
                                               : " X-Error-Message: " + out.error_message));
            }
            if (out.http_status && *out.http_status == 401) {
                exit_code = 3;
                request_stop("error", "the server refused the token: " + (out.error_message.empty()
                                                                              ? std::string("401")
                                                                              : out.error_message));
                break;
            }
            if (stop_requested) {
                break;
            }
            if (out.established) {
                schema::Gap g;
                g.session_id = session_id;
                g.idx = next_gap++;
                g.from_connection_idx = conn.idx;
                g.start_offset_ns = *conn.ended_offset_ns;
                g.start_wall_ns = started_wall + g.start_offset_ns;
                g.cause = out.cause;
                g.last_seq_before = next_seq - 1;
                push(g);
                open_gap = g;
                gap_start_newest = newest_seen;
                ++gaps;
            }
            if (options.max_reconnects >= 0 && reconnects >= options.max_reconnects) {
                exit_code = 1;
                request_stop("error",
                             "gave up after " + std::to_string(reconnects) + " reconnects");
                break;
            }
            ++reconnects;
            const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
            const double delay =
                backoff_delay_s(options.backoff_start_s, options.backoff_cap_s, failures++, u);
            state = "backoff";
            backoff_timer.expires_after(
                std::chrono::microseconds(static_cast<std::int64_t>(delay * 1e6)));
            co_await backoff_timer.async_wait(kUseTuple);
        }
        if (open_gap) {
            // The session ended while disconnected: the gap runs to the end.
            open_gap->end_offset_ns = offset_now();
            open_gap->end_wall_ns = started_wall + *open_gap->end_offset_ns;
            push(*open_gap);
        }
        state = "stopped";
        status_timer.cancel();
        signals.cancel();
        co_return;
    }

    void print_status() {
        const double secs = static_cast<double>(offset_now()) / 1e9;
        char line[256];
        std::snprintf(
            line, sizeof line,
            "\r\033[K%02d:%02d:%02d  %-10s  events %lld  %.1f/s  heartbeats %lld  gaps %lld  "
            "backfilled %lld",
            static_cast<int>(secs / 3600), static_cast<int>(secs / 60) % 60,
            static_cast<int>(secs) % 60, state.c_str(), static_cast<long long>(events),
            secs > 0 ? static_cast<double>(events) / secs : 0.0, static_cast<long long>(heartbeats),
            static_cast<long long>(gaps), static_cast<long long>(backfilled));
        std::cerr << line << std::flush;
    }

    // The status line, rewritten in place 4 times a second; its last state is printed once the
    // event loop is done (see Recorder::run).
    net::awaitable<void> status_loop() {
        while (state != "stopped") {
            print_status();
            status_timer.expires_after(std::chrono::milliseconds(250));
            co_await status_timer.async_wait(kUseTuple);
        }
    }

    void wait_signal() {
        signals.async_wait([this](const beast::error_code& ec, int) {
            if (ec) {
                return;
            }
            if (++signals_seen == 1) {
                log("stopping (interrupt again to exit at once)");
                request_stop("stopped", "", true);
                wait_signal();
            } else {
                stop_reason = stop_reason.empty() ? "stopped" : stop_reason;
                stop_detail = "second interrupt";
                ioc.stop();
            }
        });
    }
};

Recorder::Recorder(RecordOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Recorder::~Recorder() = default;

std::int64_t Recorder::session_id() const { return impl_->session_id; }

void Recorder::stop() {
    net::post(impl_->ioc, [impl = impl_.get()] { impl->request_stop("stopped", ""); });
}

int Recorder::run() {
    auto& impl = *impl_;
    impl.wait_signal();
    net::steady_timer duration(impl.ioc);
    if (impl.options.duration_s > 0) {
        duration.expires_after(
            std::chrono::milliseconds(static_cast<std::int64_t>(impl.options.duration_s * 1000)));
        duration.async_wait([&impl](const beast::error_code& ec) {
            if (!ec) {
                impl.request_stop("duration", "");
            }
        });
    }
    net::co_spawn(impl.ioc, impl.record_session(), [&impl, &duration](std::exception_ptr e) {
        duration.cancel();
        impl.signals.cancel();
        impl.session_done = true;
        impl.finish_when_idle();
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                impl.log(std::string("stopped by an error: ") + ex.what());
                impl.stop_reason = "error";
                impl.stop_detail = ex.what();
                impl.exit_code = 1;
            }
        }
    });
    if (impl.status_line) {
        net::co_spawn(impl.ioc, impl.status_loop(), net::detached);
    }
    // The REST thread lives as long as the network thread runs; what it has not finished when a
    // second interrupt stops everything is left undone.
    {
        auto rest_work = net::make_work_guard(impl.rest_ioc);
        std::thread rest([&impl] {
            schema::make_this_thread_background();
            impl.rest_ioc.run();
        });
        impl.ioc.run();
        rest_work.reset();
        impl.rest_ioc.stop();
        rest.join();
    }
    const std::int64_t end = impl.offset_now();
    if (impl.status_line) {
        impl.state = "stopped";
        impl.print_status();
        std::cerr << '\n';
    }
    if (impl.live_row) {
        // A second interrupt stopped the loop mid-connection: end the connection here.
        impl.live_row->ended_offset_ns = end;
        impl.live_row->ended_wall_ns = impl.started_wall + end;
        impl.live_row->end_cause = "local-stop";
        impl.live_row->end_detail = "second interrupt";
        impl.push(*impl.live_row);
    }
    impl.writer->finish(impl.started_wall + end, end,
                        impl.stop_reason.empty() ? "stopped" : impl.stop_reason, impl.stop_detail);
    if (const auto error = impl.writer->error(); !error.empty()) {
        std::cerr << "mastotape record: " << error << '\n';
        return 1;
    }
    impl.log("session " + std::to_string(impl.session_id) + " ended (" +
             (impl.stop_reason.empty() ? std::string("stopped") : impl.stop_reason) + "): " +
             std::to_string(impl.events) + " events, " + std::to_string(impl.gaps) + " gaps");
    return impl.exit_code;
}

}  // namespace mastotape::record
