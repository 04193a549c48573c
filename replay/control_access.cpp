#include "replay/control_access.hpp"

#include <string>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::replay {
namespace {

ControlRefusal refused(int status, const std::string& message, std::string allow = {}) {
    return {status, schema::error_json(message), std::move(allow)};
}

// Compares in time independent of where the first difference is.
bool same_secret(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

bool has_token(std::string_view authorization, std::string_view required) {
    constexpr std::string_view kBearer = "Bearer ";
    return !required.empty() && authorization.substr(0, kBearer.size()) == kBearer &&
           same_secret(authorization.substr(kBearer.size()), required);
}

// The host of a Host header, without its port (and without an IPv6 literal's brackets).
std::string_view host_only(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        return close == std::string_view::npos ? std::string_view() : host.substr(1, close - 1);
    }
    return host.substr(0, host.find(':'));
}

}  // namespace

bool loopback_host(std::string_view host) { return schema::loopback_address(host_only(host)); }

bool control_acts(std::string_view path, std::string_view query) {
    if (path == "/_mastotape/faults") {
        return schema::query_param(query, "add").has_value() ||
               schema::query_param(query, "clear").has_value();
    }
    if (path == "/_mastotape/stubs") {
        return schema::query_param(query, "reload").has_value();
    }
    if (path == "/_mastotape/expectations") {
        return schema::query_param(query, "add").has_value() ||
               schema::query_param(query, "clear").has_value();
    }
    return path == "/_mastotape/clock/advance" || path == "/_mastotape/clock/run-to" ||
           path == "/_mastotape/pause" || path == "/_mastotape/resume" ||
           path == "/_mastotape/reset";
}

std::optional<ControlRefusal> control_refusal(const ControlRequest& r, std::string_view path,
                                              std::string_view query,
                                              std::string_view required_token) {
    if (!has_token(r.authorization, required_token)) {
        if (!r.loopback_peer) {
            return refused(403,
                           "the control API answers this machine only; from another host, send "
                           "the replayer's --require-token as Authorization: Bearer");
        }
        if (!loopback_host(r.host)) {
            return refused(403,
                           "the control API answers requests for localhost, 127.0.0.1 or [::1] "
                           "only (Host names another server)");
        }
        if (!r.origin.empty() && r.origin != "http://" + std::string(r.host) &&
            r.origin != "https://" + std::string(r.host)) {
            return refused(403, "the control API answers no other web page (Origin: " +
                                    std::string(r.origin) + ")");
        }
    }
    const bool acts = control_acts(path, query);
    if (acts && r.method != "POST") {
        return refused(405, "this changes the replay: use POST", "POST");
    }
    if (!acts && r.method != "GET" && r.method != "HEAD") {
        return refused(405, "this only reads: use GET", "GET, HEAD");
    }
    return std::nullopt;
}

}  // namespace mastotape::replay
