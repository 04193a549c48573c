#include "record/recorder.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <stdexcept>
#include <thread>

#include "record/coro.hpp"
#include "record/session.hpp"
#include "schema/mastodon/heartbeats.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/background_thread.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
constexpr auto kStatusPeriod = std::chrono::milliseconds(250);

// Works out from the options where to stream from and where REST goes; throws
// std::invalid_argument for what cannot be.
SessionPlan plan_of(RecordOptions o) {
    auto parsed = schema::parse_url(o.target);
    if (!parsed) {
        throw std::invalid_argument("cannot read \"" + schema::without_access_token(o.target) +
                                    "\" as an instance or streaming URL");
    }
    SessionPlan p;
    p.url = *parsed;
    const bool instance = p.url.scheme == "https" || p.url.scheme == "http";
    p.rest_origin = p.url;
    p.rest_origin.scheme = p.url.tls() ? "https" : "http";
    p.rest_origin.target = "/";
    if (!o.rest_base.empty()) {
        auto rb = schema::parse_url(o.rest_base);
        if (!rb) {
            throw std::invalid_argument("cannot read --rest-base \"" + o.rest_base + "\" as a URL");
        }
        p.rest_origin = *rb;
    }
    if (instance) {
        // An instance: its streaming server is at the same origin unless it says otherwise.
        if (o.transport == schema::Transport::websocket) {
            p.url.scheme = p.url.scheme == "https" ? "wss" : "ws";
        }
    } else if (o.transport == schema::Transport::sse) {
        p.url.scheme = p.url.scheme == "wss" ? "https" : "http";
    }
    if (p.url.target == "/" || p.url.target.empty()) {
        p.url.target = "/api/v1/streaming";
    }
    if (o.transport == schema::Transport::sse && o.subscriptions.size() != 1) {
        throw std::invalid_argument(
            "SSE takes exactly one stream; use --transport websocket for several");
    }
    if (o.heartbeat_timeout_s <= 0) {
        o.heartbeat_timeout_s =
            static_cast<double>(schema::default_heartbeat_timeout_ns(o.transport)) / 1e9;
    }
    p.discover = instance && o.discover;
    p.status_line = !o.quiet && !o.json_log && ::isatty(STDERR_FILENO) != 0;
    p.options = std::move(o);
    return p;
}

}  // namespace

struct Recorder::Impl {
    explicit Impl(SessionPlan p)
        : duration_s(p.options.duration_s),
          status_line(p.status_line),
          signals(ioc, SIGINT, SIGTERM),
          status_timer(ioc),
          session(ioc, rest_ioc, std::move(p)) {}

    double duration_s;
    bool status_line;
    net::io_context ioc;       // the network thread: connections, frames, the writer's queue
    net::io_context rest_ioc;  // the REST thread: backfill
    net::signal_set signals;
    net::steady_timer status_timer;
    RecordingSession session;
    int signals_seen = 0;
    std::string hard_stop;  // why the loop was stopped mid-connection, if it was

    void wait_signal() {
        signals.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) {
                return;
            }
            if (++signals_seen == 1) {
                session.log("stopping (interrupt again to exit at once)");
                session.request_stop(schema::SessionEnd::stopped, "", true);
                wait_signal();
            } else {
                hard_stop = "second interrupt";
                ioc.stop();
            }
        });
    }

    // The status line, rewritten in place 4 times a second; its last state is printed once the
    // event loop is done.
    net::awaitable<void> status_loop() {
        while (!session.stopped()) {
            std::cerr << "\r\033[K" << session.status(false) << std::flush;
            status_timer.expires_after(kStatusPeriod);
            co_await status_timer.async_wait(kUseTuple);
        }
    }
};

Recorder::Recorder(RecordOptions options)
    : impl_(std::make_unique<Impl>(plan_of(std::move(options)))) {}

Recorder::~Recorder() = default;

std::int64_t Recorder::session_id() const { return impl_->session.id(); }

const std::string& Recorder::path() const { return impl_->session.path(); }

void Recorder::stop() {
    net::post(impl_->ioc, [impl = impl_.get()] {
        impl->session.request_stop(schema::SessionEnd::stopped, "");
    });
}

RecordResult Recorder::run() {
    auto& impl = *impl_;
    impl.wait_signal();
    net::steady_timer duration(impl.ioc);
    if (impl.duration_s > 0) {
        duration.expires_after(
            std::chrono::milliseconds(static_cast<std::int64_t>(impl.duration_s * 1000)));
        duration.async_wait([&impl](const boost::system::error_code& ec) {
            if (!ec) {
                impl.session.request_stop(schema::SessionEnd::duration, "");
            }
        });
    }
    net::co_spawn(impl.ioc, impl.session.run(), [&impl, &duration](const std::exception_ptr& e) {
        duration.cancel();
        impl.signals.cancel();
        impl.status_timer.cancel();
        impl.session.mark_run_done(e);
    });
    if (impl.status_line) {
        net::co_spawn(impl.ioc, impl.status_loop(), net::detached);
    }
    // The REST thread lives as long as the network thread runs; what it has not finished when a
    // second interrupt stops everything is left undone.
    {
        auto rest_work = net::make_work_guard(impl.rest_ioc);
        const std::jthread rest([&impl] {
            schema::make_this_thread_background();
            impl.rest_ioc.run();
        });
        // Before the thread is joined, however the network loop ends (a throw included).
        struct StopRest {
            decltype(rest_work)& work;
            net::io_context& ioc;
            ~StopRest() {
                work.reset();
                ioc.stop();
            }
        } stop_rest{rest_work, impl.rest_ioc};
        impl.ioc.run();
    }
    if (impl.status_line) {
        std::cerr << "\r\033[K" << impl.session.status(true) << '\n';
    }
    return impl.session.finish(impl.hard_stop);
}

}  // namespace mastotape::record
