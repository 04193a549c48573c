#pragma once

// Who may use the control API under /_mastotape/ (issue 36): it can pause the clock, add faults
// and reset clients, so nobody but the user drives it. A request passes when it carries the
// replayer's required token (--require-token, as `Authorization: Bearer`), or else when it comes
// from this machine (a loopback peer), names this machine in `Host` (no DNS rebinding), and has
// no `Origin` but this server's own (no other web page). Reads take GET or HEAD; whatever changes
// state takes POST only, so neither a link nor a form-less `fetch` of another page acts.
// Beast-free.

#include <optional>
#include <string>
#include <string_view>

namespace mastotape::replay {

// What the gate looks at in a request.
struct ControlRequest {
    std::string_view method;         // "GET", "POST"...
    bool loopback_peer = false;      // the connection comes from this machine
    std::string_view host;           // the Host header ("" when absent)
    std::string_view origin;         // the Origin header ("" when absent)
    std::string_view authorization;  // the Authorization header ("" when absent)
};

// A refused request's answer: JSON `{"error": ...}`, and for a 405 the Allow header.
struct ControlRefusal {
    int status = 403;
    std::string body;
    std::string allow;
};

// Whether the control path `path` with `query` changes state (and so takes POST).
bool control_acts(std::string_view path, std::string_view query);

// The refusal for a request to the control API, or nullopt when it may go on. `required_token`:
// the replayer's --require-token ("" for none).
std::optional<ControlRefusal> control_refusal(const ControlRequest& r, std::string_view path,
                                              std::string_view query,
                                              std::string_view required_token);

// Whether a Host header's host names this machine: localhost, 127.0.0.0/8 or [::1], with or
// without a port.
bool loopback_host(std::string_view host);

}  // namespace mastotape::replay
