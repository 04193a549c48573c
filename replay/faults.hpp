#pragma once

// Fault overlays: failures the replayer adds at tape positions, not at random, so a test that
// uses them is reproducible. Parsed from `--fault SPEC` and from the control API.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mastotape::replay {

enum class FaultKind {
    drop_after,  // drop-after=N: abrupt EOF right after the tape's N-th event
    close_at,    // close-at=T:CODE: close with CODE at T seconds of tape time
    stall,       // stall=T:D: at T seconds of tape time, send nothing (no frames, no pings) for D s
    refuse,      // refuse=K[:STATUS]: refuse the next K connection attempts with STATUS (503)
    malformed_at,  // malformed-at=N: send the N-th event cut in half (not JSON)
    oversize_at,   // oversize-at=N: send a 17 MiB text frame in place of the N-th event
    slow,          // slow=B: send at most B bytes per second
    rest_error,    // rest-error=K[:STATUS]: answer the next K REST requests with STATUS (503)
};

// The NAME of each --fault NAME=VALUE, in FaultKind's order.
// What oversize-at sends: a text frame or SSE event of 17 MiB, past the 16 MiB a client takes.
inline constexpr std::size_t kOversizeBytes = std::size_t{17} * 1024 * 1024;

inline constexpr std::array<std::string_view, 8> kFaultNames{
    "drop-after",   "close-at",    "stall", "refuse",
    "malformed-at", "oversize-at", "slow",  "rest-error"};

struct Fault {
    FaultKind kind = FaultKind::drop_after;
    std::int64_t n = 0;            // event number (1-based over the session), or K for refuse
    std::int64_t at_ns = 0;        // tape offset for close-at and stall
    std::int64_t duration_ns = 0;  // stall length
    std::int64_t code = 1000;      // close-at code; the HTTP status of refuse and rest-error
    std::int64_t bytes_per_s = 0;  // slow

    std::string describe() const;
    // Whether `n` numbers an event: drop-after, malformed-at, oversize-at.
    bool keyed_to_event() const {
        return kind == FaultKind::drop_after || kind == FaultKind::malformed_at ||
               kind == FaultKind::oversize_at;
    }
};

// The attempts refuse= and rest-error= faults still have to refuse, in the order they were added.
class Refusals {
   public:
    void add(std::int64_t count, int status);
    // The status to refuse this attempt with, if one is to be refused (and counts it).
    std::optional<int> take();
    std::int64_t remaining() const;
    void clear() { queue_.clear(); }

   private:
    std::deque<std::pair<std::int64_t, int>> queue_;  // (attempts left, status)
};

// Parses one SPEC; on failure returns nullopt and sets `error` to a one-line reason.
std::optional<Fault> parse_fault(std::string_view spec, std::string& error);

}  // namespace mastotape::replay
