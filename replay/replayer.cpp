// The public in-process replayer (replay/include/mastotape/replayer.hpp): a ReplayServer on a
// thread of its own, driven through its control API.

#include "mastotape/replayer.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "replay/replay_server.hpp"
#include "schema/formats/scratch_tape.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape {
namespace {

replay::ClockMode clock_mode(ReplayerClock c) {
    switch (c) {
        case ReplayerClock::max_speed:
            return replay::ClockMode::max_speed;
        case ReplayerClock::realtime:
            return replay::ClockMode::realtime;
        case ReplayerClock::virtual_clock:
            break;
    }
    return replay::ClockMode::virtual_clock;
}

replay::ReplayOptions server_options(const ReplayerOptions& o, std::string tape) {
    replay::ReplayOptions r;
    r.tape = std::move(tape);
    r.session_id = o.session;
    r.clock = clock_mode(o.clock);
    r.speed = o.speed;
    r.require_token = o.require_token;
    r.shared_clock = o.shared_clock;
    r.hold = o.hold;
    r.loop = o.loop;
    r.client_report = true;
    r.handle_signals = false;
    r.stub_file = o.stubs;
    r.expect_file = o.expect;
    if (o.speed <= 0) {
        throw std::invalid_argument("the replayer's speed must be positive");
    }
    for (const auto& spec : o.faults) {
        std::string why;
        auto fault = replay::parse_fault(spec, why);
        if (!fault) {
            throw std::invalid_argument(why);
        }
        r.faults.push_back(*fault);
    }
    return r;
}

}  // namespace

struct Replayer::Impl {
    std::unique_ptr<schema::ScratchTape> scratch;  // a JSONL tape's, outlives the server
    std::optional<replay::ReplayServer> server;
    std::thread thread;
    std::mutex stopping;
    std::optional<ReplayerReport> verdict;  // once stopped
    std::string failure;                    // what ended run() by throwing, if anything did

    std::string ask(const std::string& path, const std::string& query,
                    const std::string& body = {}) {
        {
            std::lock_guard lock(stopping);
            if (verdict) {
                throw std::logic_error("the replayer is stopped");
            }
        }
        const replay::ControlAnswer a = server->control(path, query, body);
        if (a.status != 200) {
            const auto why = nlohmann::json::parse(a.body, nullptr, false);
            throw std::invalid_argument(why.is_object() && why.contains("error")
                                            ? why["error"].get<std::string>()
                                            : path + " answered " + std::to_string(a.status));
        }
        return a.body;
    }

    std::int64_t clock_to(const std::string& path, const std::string& query) {
        return nlohmann::json::parse(ask(path, query)).at("tape_offset_ns").get<std::int64_t>();
    }
};

Replayer::Replayer(const ReplayerOptions& options) : impl_(std::make_unique<Impl>()) {
    std::string tape = options.tape;
    if (schema::is_jsonl_path(tape)) {
        impl_->scratch = std::make_unique<schema::ScratchTape>(tape);
        tape = impl_->scratch->path();
    }
    try {
        impl_->server.emplace(server_options(options, tape));
    } catch (const schema::TapeError& e) {
        if (!impl_->scratch) {
            throw;
        }
        throw schema::TapeError(impl_->scratch->in_users_words(e.what()));
    }
    impl_->thread = std::thread([this] {
        try {
            impl_->server->run();
        } catch (const std::exception& e) {
            impl_->failure = e.what();
        }
    });
}

Replayer::~Replayer() {
    try {
        stop();
    } catch (...) {  // a destructor reports nothing; stop() has joined the thread regardless
    }
}

std::uint16_t Replayer::port() const { return impl_->server->port(); }

std::string Replayer::url() const { return impl_->server->base_url(); }

std::string Replayer::http_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::int64_t Replayer::advance_ms(double ms) {
    return impl_->clock_to("/_mastotape/clock/advance", "ms=" + std::to_string(ms));
}

std::int64_t Replayer::run_to_seq(std::int64_t seq) {
    return impl_->clock_to("/_mastotape/clock/run-to", "seq=" + std::to_string(seq));
}

void Replayer::pause() { impl_->ask("/_mastotape/pause", ""); }

void Replayer::resume() { impl_->ask("/_mastotape/resume", ""); }

// The control API parses the spec and refuses a bad one with parse_fault's reason.
void Replayer::add_fault(const std::string& spec) {
    impl_->ask("/_mastotape/faults", "add=" + schema::percent_encode(spec));
}

std::string Replayer::status_json() { return impl_->ask("/_mastotape/status", ""); }

ReplayerStatus Replayer::status() {
    const auto j = nlohmann::json::parse(status_json());
    ReplayerStatus s;
    s.clock = j.at("clock").get<std::string>();
    s.tape_offset_ns = j.at("tape_offset_ns").get<std::int64_t>();
    s.live_connections = j.at("live_connections").get<int>();
    s.paused = j.at("paused").get<bool>();
    for (const auto& c : j.at("clients")) {
        ReplayerClient client;
        client.name = c.at("name").get<std::string>();
        client.live = c.at("live").get<int>();
        client.subscribed = c.at("subscribed").get<bool>();
        client.finished = c.at("finished").get<bool>();
        client.frames_sent = c.at("frames_sent").get<std::uint64_t>();
        for (const auto& label : c.at("subscriptions")) {
            client.subscriptions.push_back(label.dump());
        }
        s.clients.push_back(std::move(client));
    }
    return s;
}

void Replayer::wait_for_client(int clients, double timeout_s) {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::microseconds(static_cast<std::int64_t>(timeout_s * 1e6));
    for (;;) {
        const auto j = nlohmann::json::parse(status_json());
        const int subscribed = j.at("clients_subscribed").get<int>();
        if (subscribed >= clients) {
            return;
        }
        if (std::chrono::steady_clock::now() >= until) {
            throw std::runtime_error(
                "wait_for_client: " + std::to_string(subscribed) + " of " +
                std::to_string(clients) + " clients connected and subscribed after " +
                std::to_string(timeout_s) + " s (" +
                std::to_string(j.at("live_connections").get<int>()) + " live connections)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string Replayer::report() { return impl_->ask("/_mastotape/report", ""); }

std::string Replayer::control(const std::string& path, const std::string& query) {
    return impl_->ask(path, query);
}

std::string Replayer::requests() { return impl_->ask("/_mastotape/requests", ""); }

void Replayer::expect(const std::string& document) {
    impl_->ask("/_mastotape/expectations", "add=1", document);
}

std::string Replayer::expectations() { return impl_->ask("/_mastotape/expectations", ""); }

void Replayer::set_stubs(const std::string& document) {
    impl_->ask("/_mastotape/stubs", "reload=1", document);
}

ReplayerReport Replayer::stop() {
    std::lock_guard lock(impl_->stopping);
    if (!impl_->verdict) {
        impl_->server->stop();
        impl_->thread.join();
        impl_->verdict = impl_->server->report();
        if (!impl_->failure.empty()) {
            throw std::runtime_error("the replayer failed: " + impl_->failure);
        }
    }
    return *impl_->verdict;
}

}  // namespace mastotape
