#pragma once

// How one transport carries the tape to one live connection. The Player holds what every
// transport shares (where to start, time, fault overlays, the recorded end); an outlet says how a
// frame, a heartbeat, a close and an end look on its wire: websocket_outlet and sse_outlet.
// Network thread only; each method may be awaited only after the one before it has finished.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <limits>

#include "replay/faults.hpp"
#include "replay/tape_plan.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::replay {

class Outlet {
   public:
    virtual ~Outlet() = default;

    // Whether the client subscribes with frames (the recorded client's are waited for).
    virtual bool subscribes_with_frames() const = 0;
    // What goes out before the tape's frames, the connection starting at tape time `start`;
    // `resumed` when that is past its recorded beginning; `alive_at`: the recorded server's last
    // sign of life by then (its last ping, or the handshake). False when the connection is gone.
    virtual boost::asio::awaitable<bool> open(std::int64_t start, bool resumed,
                                              std::int64_t alive_at) = 0;
    // Waits until the tape offset is due, answering the client meanwhile; false when the
    // connection is gone.
    virtual boost::asio::awaitable<bool> wait(std::int64_t offset) = 0;
    // Sends one frame of the tape as this transport carries it: nothing when the client is not
    // subscribed to it or the transport has no such frame.
    virtual boost::asio::awaitable<bool> play(const schema::Frame& f) = 0;
    // Sends the event `f` spoiled by a malformed-at or oversize-at fault.
    virtual boost::asio::awaitable<bool> play_spoiled(const schema::Frame& f, FaultKind kind) = 0;
    // A tape made over the other transport has the other kind of heartbeat; the outlet turns
    // them into its own, as often as the real server sends those, and only while the tape has
    // them (a recorded silence stays silent). When the next one not on the tape is due.
    std::int64_t next_synth_ns() const { return next_synth_ns_; }
    // Sends it (and says when the next is due).
    virtual boost::asio::awaitable<bool> synth_heartbeat() {
        next_synth_ns_ = kNever;
        co_return true;
    }
    // Ends the connection as close-at=T:CODE asks.
    virtual boost::asio::awaitable<void> close(int code) = 0;
    // Ends the connection abruptly, without a goodbye, after what was written (drop-after).
    virtual boost::asio::awaitable<void> drop() = 0;
    // Ends the connection as the recorded one ended (`tape_end`: as the tape ends).
    virtual boost::asio::awaitable<void> end(const PlannedConnection& p, bool tape_end) = 0;
    // Bytes handed to the socket so far.
    virtual std::uint64_t bytes_written() const = 0;

   protected:
    static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
    std::int64_t next_synth_ns_ = kNever;
};

}  // namespace mastotape::replay
