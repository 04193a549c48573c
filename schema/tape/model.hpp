#pragma once

// The records a tape holds, as plain values. Everything that goes to disk is explicitly sized.
// Times: `*_ns` offsets are nanoseconds on a monotonic clock since the session started;
// `*_wall_ns` are Unix wall-clock nanoseconds.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

// Offsets and wall times are nanoseconds: a millisecond of them.
inline constexpr std::int64_t kMs = 1'000'000;

// Why a session ended. Stored as its name; "" while it is open.
enum class SessionEnd {
    open,         // "": still recording, or its recorder died (see session_state)
    stopped,      // stopped by the user (a signal, Recorder::stop), or a cut or import ends there
    duration,     // --duration ran out
    count,        // --max-events were recorded
    error,        // the recorder gave up; end_detail says why
    interrupted,  // its recorder died with it open (set by `verify --repair`)
    rotated,      // --rotate closed its file: the recording goes on in the next file's session
};

std::string_view to_string(SessionEnd e);
std::optional<SessionEnd> session_end_from_string(std::string_view s);
std::ostream& operator<<(std::ostream& out, SessionEnd e);

struct Session {
    std::int64_t id = 0;
    std::string label;
    std::string source;    // streaming base URL, never with a token
    std::string instance;  // what the user named (host or URL); may be empty
    Transport transport = Transport::websocket;
    std::vector<Subscription> subscriptions;
    std::int64_t started_wall_ns = 0;
    std::optional<std::int64_t> ended_wall_ns;
    std::optional<std::int64_t> ended_offset_ns;
    SessionEnd end_reason = SessionEnd::open;
    std::string end_detail;
    std::int64_t updated_wall_ns = 0;  // refreshed by a live recorder at least every few seconds
    std::string settings_json = "{}";  // recorder settings worth keeping (heartbeat timeout, ...)
};

// The stream label an SSE session's events stand for (they carry none): its one subscription's.
// "" for a WebSocket session, whose events carry their own.
std::string sse_label(const Session& s);

// How a connection ended, and so why the gap after it began. Stored as its name.
enum class EndCause {
    none,               // "": still open
    close,              // a close frame with a code
    close_no_code,      // "close-no-code": a close frame without one (1005)
    eof,                // the stream ended without a close frame (1006)
    reset,              // the connection was reset (1006)
    heartbeat_timeout,  // "heartbeat-timeout": silent past the heartbeat timeout
    local_stop,         // "local-stop": the recorder stopped it
    tls_error,          // "tls-error"
    network_error,      // "network-error": a timeout, an unreachable host or network
    handshake_failed,   // "handshake-failed": refused or never answered
    frame_too_large,    // "frame-too-large": past --max-frame (1009)
    protocol_error,     // "protocol-error": a WebSocket or HTTP framing error (1002, 1007)
    interrupted,        // the recorder died with it open (set by `verify --repair`)
    rotated,            // still up when --rotate closed the file: it goes on in the next one
};

std::string_view to_string(EndCause c);
std::optional<EndCause> end_cause_from_string(std::string_view s);
std::ostream& operator<<(std::ostream& out, EndCause c);

// What became of a gap's backfill. Stored as its name.
enum class BackfillStatus {
    none,     // not attempted (the gap is still open, or the session ended in it)
    running,  // under way (a recorder that died left it so)
    ok,       // every endpoint paged to its end
    partial,  // some items came, then a limit or an error
    failed,   // nothing came: an error
    skipped,  // --no-backfill
};

std::string_view to_string(BackfillStatus s);
std::optional<BackfillStatus> backfill_status_from_string(std::string_view s);
std::ostream& operator<<(std::ostream& out, BackfillStatus s);

enum class SessionState { recording, ended, interrupted };
std::string_view to_string(SessionState s);

// A session without an end is `recording` while its recorder keeps `updated_wall_ns` fresh and
// `interrupted` once it has been stale for `stale_after_ns`.
SessionState session_state(const Session& s, std::int64_t now_wall_ns,
                           std::int64_t stale_after_ns = 15'000'000'000);

// One connection attempt and how it went.
struct Connection {
    std::int64_t session_id = 0;
    std::int64_t idx = 0;  // 0-based attempt number within the session
    std::string url;       // without token
    std::int64_t started_offset_ns = 0;
    std::int64_t started_wall_ns = 0;
    std::optional<std::int64_t> handshake_offset_ns;  // set when the handshake finished
    std::optional<std::int64_t> http_status;          // 101/200 or the failing status
    std::string error_message;  // X-Error-Message (WebSocket), the JSON body's error (SSE)
    std::string subprotocol;    // selected subprotocol (token redacted)
    std::string response_headers_json = "{}";  // handshake response headers, redacted
    std::optional<std::int64_t> ended_offset_ns;
    std::optional<std::int64_t> ended_wall_ns;
    EndCause end_cause = EndCause::none;  // none while the connection is open
    std::optional<std::int64_t> close_code;
    std::string close_reason;
    std::string end_detail;
};

// A refused attempt's error message and where it came from: `X-Error-Message: ...` (the header of
// a WebSocket upgrade's refusal) or `error in JSON body: ...` (an SSE response's); empty without.
std::string error_message_note(const Connection& c);

struct Frame {
    std::int64_t session_id = 0;
    std::int64_t seq = 0;  // 1-based, gapless within the session
    std::int64_t connection_idx = 0;
    std::int64_t offset_ns = 0;
    std::int64_t wall_ns = 0;
    std::string bytes;  // exactly as received (may hold any byte values)
    FrameColumns columns;
};

// What the recorder sent. `after_seq` is the last frame seq received before it was sent, so the
// two directions interleave deterministically.
struct ClientMessage {
    std::int64_t session_id = 0;
    std::int64_t seq = 0;  // 1-based, gapless within the session, separate from frames
    std::int64_t connection_idx = 0;
    std::int64_t offset_ns = 0;
    std::int64_t wall_ns = 0;
    std::int64_t after_seq = 0;
    MessageKind kind = MessageKind::text;
    std::string bytes;
};

// A time the stream was not connected. `cause` is the end cause of the connection before it.
struct Gap {
    std::int64_t session_id = 0;
    std::int64_t idx = 0;
    std::int64_t from_connection_idx = 0;
    std::int64_t start_offset_ns = 0;
    std::int64_t start_wall_ns = 0;
    std::optional<std::int64_t> end_offset_ns;
    std::optional<std::int64_t> end_wall_ns;
    EndCause cause = EndCause::none;
    std::int64_t last_seq_before = 0;
    BackfillStatus backfill_status = BackfillStatus::none;
    std::string backfill_error;
    std::int64_t backfilled = 0;
};

// One item fetched over REST after a gap, with the exact bytes of the item inside the response.
struct BackfillItem {
    std::int64_t session_id = 0;
    std::int64_t seq = 0;  // 1-based, gapless within the session
    std::int64_t gap_idx = 0;
    std::int64_t offset_ns = 0;
    std::int64_t wall_ns = 0;
    std::string endpoint;  // e.g. /api/v1/timelines/home
    std::string query;     // e.g. min_id=113...&limit=40
    std::int64_t http_status = 200;
    std::string object_id;
    std::string body;
    bool already_streamed = false;
};

// Any one of a session's records: what the recorder's writer queues, a batch holds in the order
// it was written, and a timeline walk hands out.
using Record = std::variant<Connection, Gap, ClientMessage, Frame, BackfillItem>;

}  // namespace mastotape::schema
