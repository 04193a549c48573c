#pragma once

// A replay server on its own thread for the length of a test, and the options of a small one.

#include <string>
#include <thread>

#include "replay/replay_server.hpp"
#include "tests/replay/wire_client.hpp"

namespace mastotape::test {

// A replay of a synthesized 5-event tape on the real-time clock, the tape in `dir`.
inline replay::ReplayOptions five_event_tape(const TempDir& dir) {
    schema::SynthOptions so;
    so.events = 5;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    return o;
}

class RunningReplay {
   public:
    explicit RunningReplay(replay::ReplayOptions o) : server_(std::move(o)) {
        thread_ = std::thread([this] { server_.run(); });
    }
    ~RunningReplay() {
        server_.stop();
        thread_.join();
    }
    RunningReplay(const RunningReplay&) = delete;
    RunningReplay& operator=(const RunningReplay&) = delete;

    std::uint16_t port() const { return server_.port(); }
    std::string url() const { return server_.base_url(); }
    std::string status() { return server_.status(); }

   private:
    replay::ReplayServer server_;
    std::thread thread_;
};

}  // namespace mastotape::test
