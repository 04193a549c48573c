#pragma once

// What the two streaming endpoints (websocket_outlet, sse_outlet) take from the server that
// accepted their connection: the options, who the clients are, the player, and what the tape is.
// Beast-free.

#include <boost/asio/awaitable.hpp>

#include <exception>
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
    // Each text message a WebSocket client sent (subscribe, unsubscribe...), for the journal.
    std::function<void(const ClientState&, const std::string&)> client_message;

    // The real server's refusal of `token` when the replayer requires one; nullopt: accepted.
    std::optional<std::string> token_problem(const std::string& token) const;
    // How long a connection whose recorded end was a heartbeat timeout stays silent.
    SteadyClock::duration silence_after(const PlannedConnection& p) const;

    // Plays the recorded connection `a` admitted to `client` on `conn` through `out`, with `reader`
    // (the coroutine that reads the client's side) running beside it. When the playing ends
    // first, `stop_reader` ends the reader; either way this returns once both have ended, so
    // nothing refers to `out` or `conn` after it.
    boost::asio::awaitable<void> play(Outlet& out, LiveConnection& conn, ClientState& client,
                                      const Admitted& a, boost::asio::awaitable<void> reader,
                                      const std::function<void()>& stop_reader);

   private:
    boost::asio::awaitable<void> play_then_stop(Outlet& out, LiveConnection& conn,
                                                ClientState& client, const Admitted& a,
                                                const bool& reader_done,
                                                const std::function<void()>& stop_reader,
                                                std::exception_ptr& failure);
};

}  // namespace mastotape::replay
