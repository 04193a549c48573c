#pragma once

// raw_limits' bare clients: what stands in for a replayer's clients when the machine's limits are
// measured (and the client of its bare WebSocket server). Nothing of mastotape is used here.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace raw_limits {

using Clock = std::chrono::steady_clock;

// Seconds from `t0` to now.
double seconds_since(Clock::time_point t0);
// The value at `p` (0 to 1) of `v`'s order.
double percentile(std::vector<double> v, double p);
// Writes all of `bytes` to `fd` (blocking, or spinning on a non-blocking one); stops quietly when
// the peer is gone, which its reader sees.
void send_all(int fd, std::string_view bytes);

struct Drained {
    std::size_t messages = 0;
    std::size_t bytes = 0;
    double seconds = 0;  // from the handshake to the end
};

// The bare client, the same for the bare server and for mastotape replay: blocking reads of
// whole messages until the server closes.
Drained drain_one(unsigned short port, const std::string& target, const std::string& token);

// How `drain` runs its clients: a thread each, all of them on two event-loop threads, or all of
// them on one thread of LeanClients.
enum class DrainMode { threads, async, lean };

// CLIENTS bare clients at once drain `url` until the replayer closes.
int bench_drain(const std::string& url, int clients, DrainMode mode);
// CLIENTS clients connect, upgrade and then sit idle for SECONDS (for the replayer's memory per
// idle client).
int bench_hold(const std::string& url, int clients, double seconds);
// COUNT times, one after the other: a new client connects and reads its first message; the time
// from the TCP connect to that message (the tape's size must not show here).
int bench_first(const std::string& url, int count);

}  // namespace raw_limits
