#pragma once

// A replay server on its own thread for the length of a test.

#include <string>
#include <thread>

#include "replay/replay_server.hpp"

namespace mastotape::test {

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
