#pragma once

// Plays recorded connections to live ones: from where the client's connection starts on the
// tape to the recorded end, each frame at its time on the replay clock, with the fault overlays
// keyed to the tape (time faults before the frame they precede, event faults on the N-th event of
// the session), heartbeats made up for a tape of the other transport, and the recorded end played
// by the outlet. Also keeps the set of live connections, to wake them when the clock moves.
// Network thread only; Beast-free.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "replay/admission.hpp"
#include "replay/faults.hpp"
#include "replay/frame_window.hpp"
#include "replay/live_connection.hpp"
#include "replay/outlet.hpp"
#include "replay/replay_clock.hpp"
#include "replay/report/lateness.hpp"
#include "replay/tape_plan.hpp"

namespace mastotape::replay {

class Player {
   public:
    // Everything given must outlive the player. `faults` may change between frames (the control
    // API); `hold`: the tape's end keeps the connection open instead of closing it.
    Player(schema::TapeStore& store, std::int64_t session_id, const TapePlan& plan,
           ReplayClock& clock, Admission& admission, std::vector<Fault>& faults, bool hold);

    // Plays client `client`'s recorded connection `k` through `out` on `conn`, from tape time
    // `start` (Admitted::start) to its recorded end, and moves the client on (or, ended early by
    // a fault or the client, leaves it to resume).
    boost::asio::awaitable<void> play(Outlet& out, LiveConnection& conn, ClientState& client,
                                      std::size_t k, std::int64_t start);

    // The live connections, to wake them all (a pause, the virtual clock moved).
    void add(LiveConnection& c) { live_.insert(&c); }
    void remove(LiveConnection& c) { live_.erase(&c); }
    std::size_t live() const { return live_.size(); }
    void wake_all();

    const Lateness& lateness() const { return lateness_; }

   private:
    struct Run;
    boost::asio::awaitable<void> play_frames(Run& run);
    boost::asio::awaitable<bool> apply_time_faults(Run& run, std::int64_t until);
    boost::asio::awaitable<bool> wait_for(Run& run, const schema::Frame& f);
    // Sends the heartbeats the outlet makes up that are due by tape time `until`, then waits for
    // `until`; false when the connection is gone.
    boost::asio::awaitable<bool> wait_with_heartbeats(Run& run, std::int64_t until);
    boost::asio::awaitable<bool> send(Run& run, const schema::Frame& f);
    // What ended the connection: the tape (its recorded end was played), a fault overlay, or the
    // client (it left, or its socket failed).
    boost::asio::awaitable<ConnectionEnd> finish(Run& run);
    void logged_end(Run& run, ConnectionEnd how);
    std::optional<FaultKind> event_fault(Run& run, bool& drop_after);
    const std::vector<std::int64_t>& texts_of(const PlannedConnection& p) const;

    schema::TapeStore& store_;
    std::int64_t session_id_;
    const TapePlan& plan_;
    ReplayClock& clock_;
    Admission& admission_;
    std::vector<Fault>& faults_;
    bool hold_;
    FrameWindow frame_window_;  // the frames the connections in front read
    // Per recorded connection, the `after_seq` of each text message its client sent, in order.
    std::map<std::int64_t, std::vector<std::int64_t>> recorded_texts_;
    std::set<LiveConnection*> live_;
    Lateness lateness_;
};

}  // namespace mastotape::replay
