#pragma once

// One client connection while it plays: its place in time, what its client asked for, what is
// waiting to be sent back, and the wake-up timer its player waits on. Whoever changes any of it
// (the connection's reader, the control API, a pause) cancels `wake`, and the player looks again.
// Network thread only; Beast-free.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "replay/replay_clock.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::replay {

struct LiveConnection {
    explicit LiveConnection(const boost::asio::any_io_executor& ex) : wake(ex) {}

    boost::asio::steady_timer wake;
    ConnectionClock clock;
    bool closed = false;              // the client went, or the connection failed
    bool silence_outlasted = false;   // a recorded silence ended it before the client went
    std::deque<std::string> pending;  // error frames to send, in order
    bool close_1003 = false;          // a binary message came: close as the real server does
    std::vector<schema::Subscription> subscriptions;
    // Every subscription it has had, in order (a client may unsubscribe before it leaves: what
    // it was offered while subscribed still counts).
    std::vector<schema::Subscription> ever_subscribed() const;
    // Causality at a real-time clock: the next frame waits until the client has sent as many text
    // messages as the recorded client had before it (its subscribes; at least one while it has
    // no subscription), or until `client_deadline` (real time).
    std::size_t client_texts = 0;
    std::size_t needed_texts = 0;
    TimePoint client_deadline{};
    // The subscription gate at --max-speed (client-paced): no frame goes until the client has
    // subscribed to every label in `awaited_labels` (what the recorded connection carried), or a
    // second after its first subscription (it subscribes to less), or five seconds after
    // `opened_at` with none at all. Once open, the gate stays open. So what a client gets depends
    // on the tape and on what it subscribes to, never on how fast it sends its subscribes.
    std::vector<std::string> awaited_labels;
    TimePoint opened_at{};
    std::optional<TimePoint> first_subscribed_at;
    bool cut_short = false;  // a fault overlay, not the tape, ended it: the client resumes it
    // --kill-unresponsive: when the last ping went out (real time), and whether a pong came since.
    std::optional<TimePoint> pinged_at;
    bool ponged = false;

    // Whether this connection receives events labelled `label`. Every frame asks, and a tape has
    // a handful of labels: each is matched once per subscription change.
    bool subscribed(const std::string& label);
    // The subscriptions changed (the label cache goes) and the player looks again. `before`: what
    // they were.
    void subscriptions_changed(const std::vector<schema::Subscription>& before = {});
    // Until when the next frame waits for the client's subscriptions (the two gates above);
    // nullopt when it need not wait.
    std::optional<TimePoint> held_until(TimePoint now);

    // Waits until the connection has closed (the client went, or its reader saw the end).
    boost::asio::awaitable<void> wait_closed();

   private:
    std::vector<schema::Subscription> dropped_;   // subscriptions it had and gave up
    std::map<std::string, bool> matched_labels_;  // stream label -> subscribed
};

// Waits until tape offset `offset` is due on `c` by `clock`, or `c` has something to send or has
// closed; true when the offset is due. This is where the replayer decides when a frame goes.
boost::asio::awaitable<bool> wait_due(const ReplayClock& clock, LiveConnection& c,
                                      std::int64_t offset);

}  // namespace mastotape::replay
