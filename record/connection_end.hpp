#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "schema/tape/model.hpp"

namespace mastotape::record {

// How a connection ended, as stored on its row.
struct Outcome {
    bool established = false;
    schema::EndCause cause = schema::EndCause::none;
    std::optional<std::int64_t> close_code;
    std::string close_reason;
    std::string detail;
    std::optional<std::int64_t> http_status;
    std::string error_message;
};

// True for an error of the TLS layer, including a peer that dropped TCP without close_notify.
bool is_ssl_error(const boost::system::error_code& ec);

// Classifies a transport error that ended an established connection: eof and reset (1006),
// frame-too-large (1009), tls-error, protocol-error (a WebSocket or HTTP framing error), and
// anything else the socket reports (a timeout, an unreachable host or network) as network-error
// with the system's message.
void classify_end(const boost::system::error_code& ec, Outcome& out);

// A connection its watchdog closed after `timeout` with no `what` ("frame or ping").
void end_by_silence(std::chrono::steady_clock::duration timeout, const char* what, Outcome& out);

// An attempt that a stop (Ctrl-C, --duration) ended before `what` ("the handshake finished").
Outcome stopped_before(const char* what);

}  // namespace mastotape::record
