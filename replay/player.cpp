#include "replay/player.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "replay/coro.hpp"
#include "schema/tape/tape_verifier.hpp"

namespace mastotape::replay {
namespace {

namespace net = boost::asio;
using schema::FrameKind;

// How long a client has to refuse an oversize-at frame before its connection's end is played.
constexpr auto kOversizeGrace = std::chrono::seconds(5);
// At a real-time clock, a client that does not subscribe as the recorded one did is waited for a
// second at most.
constexpr auto kSubscribeGrace = std::chrono::seconds(1);
// A client that leaves this soon after a heartbeat left because of it (a frame it could not
// parse): no watchdog fires that soon after a sign of life.
constexpr auto kTookBadly = std::chrono::milliseconds(500);

// Waits on `c`'s timer until `until` (real time) or until it is woken and `done()` holds.
template <typename Done>
net::awaitable<void> sleep_until(LiveConnection& c, TimePoint until, Done done) {
    while (!done() && SteadyClock::now() < until) {
        c.wake.expires_at(until);
        co_await c.wake.async_wait(kUseTuple);
    }
}

}  // namespace

// One connection's walk: where it is and what happened on it so far.
struct Player::Run {
    Run(Outlet& o, LiveConnection& c, ClientState& cl, std::size_t index,
        const PlannedConnection& planned)
        : out(o), conn(c), client(cl), k(index), p(planned), generation(cl.generation) {}

    Outlet& out;
    LiveConnection& conn;
    ClientState& client;
    std::size_t k;
    const PlannedConnection& p;
    std::uint64_t generation;
    std::int64_t start = 0;
    bool alive = true;
    bool oversized = false;  // an oversize-at frame went out
    std::int64_t last_offset = 0;
    // Faults are keyed to the tape: events are numbered over the whole session, counted only once
    // a fault asks (a count over the index is O(events before)).
    std::optional<std::int64_t> events_before_start;
    std::int64_t events_here = 0;
    std::set<std::size_t> applied;         // time faults already applied on this connection
    std::optional<TimePoint> all_sent_at;  // when only the recorded end was left
    // When the client was last sent something, whether that was a heartbeat (a ping, a
    // `:thump`), and how long nothing had gone before it: a client that leaves right after a
    // heartbeat that came alone could not take it.
    std::optional<TimePoint> wrote_at;
    bool wrote_heartbeat = false;
    SteadyClock::duration quiet_before = SteadyClock::duration::max();

    void wrote(TimePoint at, bool heartbeat) {
        quiet_before = wrote_at ? at - *wrote_at : SteadyClock::duration::max();
        wrote_at = at;
        wrote_heartbeat = heartbeat;
    }
    // The client left now just after a heartbeat that came alone (not just after an event it
    // may have been waiting for).
    bool left_on_heartbeat(TimePoint now) const {
        return wrote_heartbeat && now - *wrote_at < kTookBadly && quiet_before >= kTookBadly;
    }
};

Player::Player(schema::TapeStore& store, std::int64_t session_id, const TapePlan& plan,
               ReplayClock& clock, Admission& admission, std::vector<Fault>& faults, bool hold)
    : store_(store),
      session_id_(session_id),
      plan_(plan),
      clock_(clock),
      admission_(admission),
      faults_(faults),
      hold_(hold),
      frame_window_(store, session_id) {
    for (const auto& m : store.client_messages(session_id)) {
        if (m.kind == schema::MessageKind::text) {
            recorded_texts_[m.connection_idx].push_back(m.after_seq);
        }
    }
}

void Player::wake_all() {
    for (auto* c : live_) {
        c->wake.cancel();
    }
}

const std::vector<std::int64_t>& Player::texts_of(const PlannedConnection& p) const {
    static const std::vector<std::int64_t> kNone;
    const auto it = recorded_texts_.find(p.recorded.idx);
    return it == recorded_texts_.end() ? kNone : it->second;
}

net::awaitable<void> Player::play(Outlet& out, LiveConnection& conn, ClientState& client,
                                  std::size_t k, std::int64_t start) {
    const PlannedConnection& p = plan_.connections[k];
    Run run(out, conn, client, k, p);
    run.start = start;
    run.last_offset = run.start;
    conn.clock = clock_.connection_at(run.start);
    conn.client_deadline = SteadyClock::now() + kSubscribeGrace;
    if (clock_.mode() == ClockMode::max_speed && out.subscribes_with_frames()) {
        conn.opened_at = SteadyClock::now();
        for (const auto& s : plan_.session.subscriptions) {
            conn.awaited_labels.push_back(s.label());
        }
    }
    admission_.started(client, k, run.start);
    client.log.connection_started(SteadyClock::now(), run.start);
    const bool resumed = run.start > p.up_offset_ns;
    std::int64_t alive_at = p.up_offset_ns;
    if (resumed) {  // the recorded server's last ping before the resume point
        alive_at = store_.last_ping_between(session_id_, p.up_offset_ns, run.start)
                       .value_or(p.up_offset_ns);
    }
    run.alive = co_await out.open(run.start, resumed, alive_at);
    co_await play_frames(run);
    const ConnectionEnd ending = co_await finish(run);
    if (client.generation != run.generation) {
        co_return;  // reset meanwhile: the client starts over
    }
    logged_end(run, ending);
    switch (ending) {
        case ConnectionEnd::tape:
            admission_.played(client, k);
            break;
        case ConnectionEnd::fault:
            admission_.cut_short(client, run.last_offset);
            break;
        case ConnectionEnd::client:
        case ConnectionEnd::open:
            admission_.left(client, k, run.last_offset);
            break;
    }
}

// The client's log: where the connection had got on the tape and what ended it.
void Player::logged_end(Run& run, ConnectionEnd how) {
    std::int64_t reached = run.last_offset;
    std::string recorded;
    if (how == ConnectionEnd::tape) {
        reached = plan_.end_of(run.k);
        recorded = plan_.ends_with_tape(run.k)
                       ? "tape-end"
                       : std::string(schema::to_string(run.p.recorded.end_cause));
    } else {
        if (clock_.one_timeline()) {
            reached = clock_.shared_tape_now();
        } else if (clock_.mode() == ClockMode::realtime) {
            reached = clock_.tape_now(run.client.clock);  // it was there until it went
        }
    }
    // A recorded silence (the server died): whether the client noticed, and how long it took.
    std::optional<SteadyClock::duration> noticed;
    const bool silent = run.p.recorded.end_cause == schema::EndCause::heartbeat_timeout &&
                        !plan_.ends_with_tape(run.k) && run.all_sent_at;
    if (silent &&
        (how == ConnectionEnd::client || (run.conn.closed && !run.conn.silence_outlasted))) {
        noticed = SteadyClock::now() - *run.all_sent_at;
    }
    run.client.log.connection_ended(SteadyClock::now(), reached, how, std::move(recorded),
                                    run.conn.ever_subscribed());
    // At --max-speed frames come too close together to tell what a client left on.
    if (how == ConnectionEnd::client && clock_.mode() != ClockMode::max_speed &&
        run.left_on_heartbeat(SteadyClock::now())) {
        run.client.log.left_after_heartbeat(SteadyClock::now() - *run.wrote_at);
    }
    if (silent) {
        run.client.log.silence(noticed);
    }
}

net::awaitable<void> Player::play_frames(Run& run) {
    FrameReader frames(frame_window_, store_, session_id_, run.start);
    SharedFrame next;
    while (run.alive && (next = frames.next()) && next->connection_idx == run.p.recorded.idx) {
        const schema::Frame& f = *next;  // kept by `next` while the frame is sent
        if (!schema::offset_in_range(f.offset_ns)) {
            throw schema::TapeError(store_.path() + ": frame " + std::to_string(f.seq) +
                                    " is at offset " + std::to_string(f.offset_ns) +
                                    " ns, outside what a tape can hold; "
                                    "`mastotape verify` lists the damage");
        }
        run.alive = co_await apply_time_faults(run, f.offset_ns);
        if (run.alive) {
            run.alive = co_await wait_for(run, f);
        }
        if (!run.alive) {
            break;
        }
        run.alive = co_await send(run, f);
    }
}

// The time faults (close-at, stall) due by tape time `until` on this connection.
net::awaitable<bool> Player::apply_time_faults(Run& run, std::int64_t until) {
    for (std::size_t i = 0; i < faults_.size(); ++i) {
        const Fault fault = faults_[i];
        const bool timed = fault.kind == FaultKind::close_at || fault.kind == FaultKind::stall;
        if (!timed || run.applied.count(i) || fault.at_ns < run.start || fault.at_ns > until) {
            continue;
        }
        run.applied.insert(i);
        const bool alive = co_await wait_with_heartbeats(run, fault.at_ns);
        if (!alive) {
            co_return false;
        }
        if (fault.kind == FaultKind::close_at) {
            co_await run.out.close(static_cast<int>(fault.code));
            run.conn.cut_short = true;
            run.last_offset = fault.at_ns;
            co_return false;
        }
        // Nothing at all for the stall's length; the tape then resumes where it was.
        run.conn.wake.expires_after(std::chrono::nanoseconds(fault.duration_ns));
        co_await run.conn.wake.async_wait(kUseTuple);
        run.conn.clock.r0 += std::chrono::nanoseconds(fault.duration_ns);
    }
    co_return true;
}

// Waits until frame `f` is due, the client has subscribed as the recorded one had by then, and
// the made-up heartbeats before it have gone out.
net::awaitable<bool> Player::wait_for(Run& run, const schema::Frame& f) {
    // A client that subscribes with frames gets nothing before its first subscribe arrives, nor a
    // frame before it has sent what the recorded client had sent by then (an error frame answers
    // a subscribe): at a faster replay the time it takes would lose it the first events, which the
    // recorded client had subscribed in time for. (--max-speed adds its gate in play(); a virtual
    // clock waits for nothing but the clock: wait_for_client() first.)
    if (run.out.subscribes_with_frames() && clock_.mode() != ClockMode::virtual_clock) {
        const auto& sent = texts_of(run.p);
        const auto sent_before = static_cast<std::size_t>(
            std::lower_bound(sent.begin(), sent.end(), f.seq) - sent.begin());
        run.conn.needed_texts = std::max<std::size_t>(sent_before, run.conn.subscriptions.empty());
    }
    if (run.out.next_synth_ns() <= f.offset_ns) {
        co_return co_await wait_with_heartbeats(run, f.offset_ns);
    }
    co_return co_await run.out.wait(f.offset_ns);  // per frame: one coroutine fewer
}

// The event fault (malformed-at, oversize-at) for the event about to go, and whether the
// connection drops after it.
std::optional<FaultKind> Player::event_fault(Run& run, bool& drop_after) {
    std::optional<FaultKind> spoiled;
    for (const auto& fault : faults_) {
        if (!fault.keyed_to_event()) {
            continue;
        }
        if (!run.events_before_start) {
            run.events_before_start = store_.events_before(session_id_, run.start);
        }
        if (fault.n != *run.events_before_start + run.events_here) {
            continue;
        }
        if (fault.kind == FaultKind::drop_after) {
            drop_after = true;
        } else {
            spoiled = fault.kind;
        }
    }
    return spoiled;
}

// Sends `f` (spoiled by a fault, if one says so) and what follows it: the lateness, the client's
// clock at --max-speed, a drop, a slow link's pause.
net::awaitable<bool> Player::send(Run& run, const schema::Frame& f) {
    const std::uint64_t written_before = run.out.bytes_written();
    bool drop_after = false;
    std::optional<FaultKind> spoiled;
    if (f.columns.kind == FrameKind::event) {
        ++run.events_here;
        spoiled = event_fault(run, drop_after);
    }
    bool alive = false;
    std::size_t sent_bytes = f.bytes.size();
    if (spoiled) {
        run.oversized = run.oversized || *spoiled == FaultKind::oversize_at;
        alive = co_await run.out.play_spoiled(f, *spoiled);
        sent_bytes = run.out.bytes_written() - written_before;
    } else {
        alive = co_await run.out.play(f);
    }
    run.last_offset = f.offset_ns;
    run.client.position_ns = f.offset_ns;
    if (run.out.bytes_written() != written_before) {
        run.wrote(SteadyClock::now(),
                  f.columns.kind == FrameKind::ping || f.columns.kind == FrameKind::comment);
    }
    if (f.columns.kind == FrameKind::event) {
        if (alive && !spoiled && run.out.bytes_written() != written_before) {
            run.client.log.streamed(f.seq);
        } else {
            run.client.log.not_streamed();
        }
    }
    if (clock_.mode() == ClockMode::realtime && alive &&
        run.out.bytes_written() != written_before) {
        const auto late = clock_.now() - clock_.due_at(run.conn.clock, f.offset_ns);
        lateness_.add(late);  // what went out
        run.client.lateness.add(late);
    }
    if (clock_.mode() == ClockMode::max_speed) {
        run.client.clock.offset = f.offset_ns;  // REST sees as far as the stream has gone
    }
    if (alive && drop_after) {
        co_await run.out.drop();  // an abrupt end: no close frame, as when a server dies
        run.conn.cut_short = true;
        co_return false;
    }
    for (const auto& fault : faults_) {
        if (alive && fault.kind == FaultKind::slow) {
            run.conn.wake.expires_after(std::chrono::nanoseconds(static_cast<std::int64_t>(
                static_cast<double>(sent_bytes) * 1e9 / static_cast<double>(fault.bytes_per_s))));
            co_await run.conn.wake.async_wait(kUseTuple);
        }
    }
    co_return alive;
}

// After the last frame: waits for the recorded end and plays it, unless a fault or the client
// ended the connection first.
net::awaitable<ConnectionEnd> Player::finish(Run& run) {
    LiveConnection& conn = run.conn;
    if (run.oversized && run.alive && !conn.closed) {
        // The client may still be refusing the oversize-at frame (1009, after reading all 17 MiB
        // of it): the connection's end must not come first and count it played.
        co_await sleep_until(conn, SteadyClock::now() + kOversizeGrace,
                             [&] { return conn.closed; });
    }
    // A client that refused an oversize-at frame leaves (1009), as the fault meant it to.
    const auto early = [&] {
        return conn.cut_short || (run.oversized && (!run.alive || conn.closed))
                   ? ConnectionEnd::fault
                   : ConnectionEnd::client;
    };
    if (!run.alive || conn.closed || conn.cut_short) {
        co_return early();
    }
    const bool current = run.client.generation == run.generation;
    if (current) {
        run.client.ending = run.k;
    }
    run.all_sent_at = SteadyClock::now();
    const bool reached_end = co_await wait_with_heartbeats(run, plan_.end_of(run.k));
    if (!reached_end) {
        co_return early();
    }
    const bool last = run.k + 1 >= plan_.connections.size();
    if (last && !hold_ && current) {
        run.client.clock.rest_at.reset();  // before the goodbye: REST then shows the whole tape
    }
    co_await run.out.end(run.p, plan_.ends_with_tape(run.k));
    co_return ConnectionEnd::tape;
}

net::awaitable<bool> Player::wait_with_heartbeats(Run& run, std::int64_t until) {
    // No co_await in a condition or beside && or ||: g++ 12 miscompiles some of those.
    Outlet& out = run.out;
    bool alive = true;
    while (alive && out.next_synth_ns() <= until) {
        const std::int64_t due = out.next_synth_ns();
        alive = co_await out.wait(due);
        if (alive) {
            alive = co_await out.synth_heartbeat();
            run.wrote(SteadyClock::now(), true);
        }
    }
    if (alive) {
        alive = co_await out.wait(until);
    }
    co_return alive;
}

}  // namespace mastotape::replay
