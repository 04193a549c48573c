#include "schema/tape/model.hpp"

#include <algorithm>
#include <array>
#include <ostream>
#include <utility>

#include <nlohmann/json.hpp>

#include "schema/text/name_table.hpp"

namespace mastotape::schema {
namespace {

constexpr std::array<std::pair<EndCause, std::string_view>, 14> kEndCauses{{
    {EndCause::none, ""},
    {EndCause::close, "close"},
    {EndCause::close_no_code, "close-no-code"},
    {EndCause::eof, "eof"},
    {EndCause::reset, "reset"},
    {EndCause::heartbeat_timeout, "heartbeat-timeout"},
    {EndCause::local_stop, "local-stop"},
    {EndCause::tls_error, "tls-error"},
    {EndCause::network_error, "network-error"},
    {EndCause::handshake_failed, "handshake-failed"},
    {EndCause::frame_too_large, "frame-too-large"},
    {EndCause::protocol_error, "protocol-error"},
    {EndCause::interrupted, "interrupted"},
    {EndCause::rotated, "rotated"},
}};

constexpr std::array<std::pair<SessionEnd, std::string_view>, 7> kSessionEnds{{
    {SessionEnd::open, ""},
    {SessionEnd::stopped, "stopped"},
    {SessionEnd::duration, "duration"},
    {SessionEnd::count, "count"},
    {SessionEnd::error, "error"},
    {SessionEnd::interrupted, "interrupted"},
    {SessionEnd::rotated, "rotated"},
}};

constexpr std::array<std::pair<BackfillStatus, std::string_view>, 6> kBackfillStatuses{{
    {BackfillStatus::none, "none"},
    {BackfillStatus::running, "running"},
    {BackfillStatus::ok, "ok"},
    {BackfillStatus::partial, "partial"},
    {BackfillStatus::failed, "failed"},
    {BackfillStatus::skipped, "skipped"},
}};

}  // namespace

std::string_view to_string(EndCause c) { return name_in(kEndCauses, c); }

std::optional<EndCause> end_cause_from_string(std::string_view s) {
    return value_in<EndCause>(kEndCauses, s);
}

std::ostream& operator<<(std::ostream& out, EndCause c) { return out << to_string(c); }

std::string_view to_string(SessionEnd e) { return name_in(kSessionEnds, e); }

std::optional<SessionEnd> session_end_from_string(std::string_view s) {
    return value_in<SessionEnd>(kSessionEnds, s);
}

std::ostream& operator<<(std::ostream& out, SessionEnd e) { return out << to_string(e); }

std::string_view to_string(BackfillStatus s) { return name_in(kBackfillStatuses, s); }

std::optional<BackfillStatus> backfill_status_from_string(std::string_view s) {
    return value_in<BackfillStatus>(kBackfillStatuses, s);
}

std::ostream& operator<<(std::ostream& out, BackfillStatus s) { return out << to_string(s); }

std::string sse_label(const Session& s) {
    return s.transport == Transport::sse && !s.subscriptions.empty()
               ? s.subscriptions.front().label()
               : std::string();
}

std::string_view to_string(SessionState s) {
    switch (s) {
        case SessionState::recording:
            return "recording";
        case SessionState::ended:
            return "ended";
        case SessionState::interrupted:
            return "interrupted";
    }
    return "interrupted";
}

SessionState session_state(const Session& s, std::int64_t now_wall_ns,
                           std::int64_t stale_after_ns) {
    if (s.ended_wall_ns) {
        return SessionState::ended;
    }
    return now_wall_ns - s.updated_wall_ns > stale_after_ns ? SessionState::interrupted
                                                            : SessionState::recording;
}

std::string error_message_note(const Connection& c) {
    if (c.error_message.empty()) {
        return "";
    }
    const bool websocket = c.url.rfind("ws", 0) == 0;
    return (websocket ? "X-Error-Message: " : "error in JSON body: ") + c.error_message;
}

}  // namespace mastotape::schema
