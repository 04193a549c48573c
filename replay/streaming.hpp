#pragma once

// What the two streaming endpoints (websocket_outlet, sse_outlet) take from the server that
// accepted their connection: the options, who the clients are, the player, and what the tape is.
// Beast-free.

#include <functional>
#include <optional>
#include <string>

#include "replay/admission.hpp"
#include "replay/player.hpp"
#include "replay/replay_server.hpp"

namespace mastotape::replay {

struct Streaming {
    const ReplayOptions& options;
    const ReplayClock& clock;
    const TapePlan& plan;
    Admission& admission;
    Player& player;
    bool sse_tape = false;  // the tape was recorded over SSE
    std::string sse_label;  // an SSE tape's one stream label, for its frames, which carry none
    std::function<void()> connection_ended;  // after each connection that played

    // The real server's refusal of `token` when the replayer requires one; nullopt: accepted.
    std::optional<std::string> token_problem(const std::string& token) const;
    // How long a connection whose recorded end was a heartbeat timeout stays silent.
    SteadyClock::duration silence_after(const PlannedConnection& p) const;
};

}  // namespace mastotape::replay
