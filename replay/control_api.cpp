#include "replay/control_api.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "replay/client_protocol.hpp"
#include "schema/json_text.hpp"

namespace mastotape::replay {
namespace {

using schema::FrameKind;

ControlAnswer error(int status, const std::string& message) {
    std::string body = "{\"error\":";
    schema::append_json_string(body, message);
    return {status, body + "}"};
}

// A number in the query: nullopt when absent, NaN when not a finite number in [0, 1e12].
std::optional<double> number(std::string_view query, const char* name) {
    const auto text = query_param(query, name);
    if (!text) {
        return std::nullopt;
    }
    char* end = nullptr;
    const double v = std::strtod(text->c_str(), &end);
    if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(v) || v < 0 ||
        v > 1e12) {
        return std::nan("");
    }
    return v;
}

const char* mode_name(ClockMode m) {
    switch (m) {
        case ClockMode::realtime:
            return "realtime";
        case ClockMode::max_speed:
            return "max-speed";
        case ClockMode::virtual_clock:
            return "virtual";
    }
    return "";
}

}  // namespace

ControlApi::ControlApi(schema::TapeStore& store, std::int64_t session_id, const TapePlan& plan,
                       ReplayClock& clock, Admission& admission, Player& player,
                       std::vector<Fault>& faults)
    : store_(store),
      session_id_(session_id),
      plan_(plan),
      clock_(clock),
      admission_(admission),
      player_(player),
      faults_(faults) {}

bool ControlApi::owns(std::string_view path) { return path.rfind("/_mastotape/", 0) == 0; }

void ControlApi::add_fault(const Fault& f) {
    if (f.kind == FaultKind::refuse) {
        admission_.refuse_next(f.n);
    } else {
        faults_.push_back(f);
    }
}

bool ControlApi::keeps_report(std::string_view path) const {
    return path == "/_mastotape/report" && admission_.keeps_items();
}

std::vector<ClientView> ControlApi::clients() const {
    std::vector<ClientView> out;
    for (const auto& [token, c] : admission_.clients()) {
        std::int64_t now = c.position_ns.value_or(0);
        if (clock_.one_timeline()) {
            now = clock_.shared_tape_now();
        } else if (clock_.mode() == ClockMode::realtime && c.clock.started) {
            now = clock_.tape_now(c.clock);
        }
        out.push_back(
            {c.name, c.log, now, c.live > 0 ? c.subscriptions : decltype(c.subscriptions){}});
    }
    // "client 2" before "client 10": in the order they came.
    std::sort(out.begin(), out.end(), [](const ClientView& a, const ClientView& b) {
        return std::make_pair(a.name.size(), a.name) < std::make_pair(b.name.size(), b.name);
    });
    return out;
}

ControlAnswer ControlApi::handle(std::string_view path, std::string_view query) {
    if (path == "/_mastotape/status") {
        return status();
    }
    if (path == "/_mastotape/report") {
        // When the replayer keeps one, the server makes it off the network thread (the tape is
        // read): see keeps_report().
        return error(409,
                     "the replayer keeps no report: start it with --report FILE (or --junit "
                     "FILE, --fail-on-missed)");
    }
    if (path == "/_mastotape/clock/advance" || path == "/_mastotape/clock/run-to") {
        return clock_control(path, query);
    }
    if (path == "/_mastotape/pause" || path == "/_mastotape/resume") {
        if (path == "/_mastotape/pause") {
            clock_.pause();
        } else {
            clock_.resume();
        }
        player_.wake_all();
        return {200, std::string("{\"paused\":") + (clock_.paused() ? "true" : "false") + "}"};
    }
    if (path == "/_mastotape/faults") {
        return faults(query);
    }
    if (path == "/_mastotape/reset") {
        return reset(query);
    }
    return error(404, "unknown control path");
}

ControlAnswer ControlApi::status() const {
    std::string out = "{\"clock\":\"";
    out += mode_name(clock_.mode());
    out += "\",\"speed\":" + std::to_string(clock_.speed());
    out += ",\"tape_offset_ns\":" + std::to_string(clock_.shared_tape_now());
    out += ",\"session\":" + std::to_string(session_id_);
    out += ",\"recorded_connections\":" + std::to_string(plan_.connections.size());
    out += ",\"live_connections\":" + std::to_string(player_.live());
    out += std::string(",\"paused\":") + (clock_.paused() ? "true" : "false");
    out += ",\"lateness\":" + player_.lateness().json();
    out += ",\"clients\":[";
    bool first = true;
    for (const auto& [token, c] : admission_.clients()) {
        if (!first) {
            out += ',';
        }
        first = false;
        out += "{\"name\":\"" + c.name + "\",\"next_connection\":" + std::to_string(c.next) +
               ",\"live\":" + std::to_string(c.live) +
               ",\"finished\":" + (c.finished ? "true" : "false") +
               ",\"frames_sent\":" + std::to_string(c.frames_sent) + ",\"position_ns\":" +
               (c.position_ns ? std::to_string(*c.position_ns) : std::string("null")) +
               ",\"subscriptions\":[";
        for (std::size_t i = 0; i < c.subscriptions.size(); ++i) {
            out += (i ? "," : "") + c.subscriptions[i].label();  // a JSON array
        }
        out += "]}";
    }
    out += "]}";
    return {200, out};
}

ControlAnswer ControlApi::clock_control(std::string_view path, std::string_view query) {
    if (clock_.mode() != ClockMode::virtual_clock) {
        return error(409, "the clock is not virtual (start with --virtual-clock)");
    }
    if (path == "/_mastotape/clock/advance") {
        const auto ms = number(query, "ms");
        if (!ms) {
            return error(400, "ms= is required: the milliseconds to advance, e.g. ms=1500");
        }
        if (std::isnan(*ms)) {
            return error(400, "ms= must be a number of milliseconds from 0 to 1e12");
        }
        clock_.advance(static_cast<std::int64_t>(*ms * 1e6));
    } else {
        ControlAnswer bad = run_to(query);
        if (bad.status != 200) {
            return bad;
        }
    }
    player_.wake_all();
    return {200, "{\"tape_offset_ns\":" + std::to_string(clock_.virtual_ns()) + "}"};
}

// Moves the virtual clock to a frame (seq=N), or to the next frame, heartbeat or gap.
ControlAnswer ControlApi::run_to(std::string_view query) {
    if (const auto seq = number(query, "seq")) {
        if (std::isnan(*seq)) {
            return error(400, "seq= must be a frame sequence number");
        }
        auto cursor = store_.frames_from_seq(session_id_, static_cast<std::int64_t>(*seq));
        schema::Frame f;
        if (cursor.next(f)) {
            clock_.move_to(f.offset_ns);
        }
        return {};
    }
    const auto next = query_param(query, "next");
    if (next == "gap") {
        for (const auto& p : plan_.connections) {
            if (p.end_offset_ns > clock_.virtual_ns()) {
                clock_.move_to(p.end_offset_ns);
                break;
            }
        }
        return {};
    }
    if (next == "frame" || next == "heartbeat") {
        auto cursor = store_.frames_from_offset(session_id_, clock_.virtual_ns() + 1);
        schema::Frame f;
        while (cursor.next(f)) {
            const bool beat =
                f.columns.kind == FrameKind::ping ||
                (f.columns.kind == FrameKind::comment && f.bytes.rfind(":thump", 0) == 0);
            if (next == "frame" || beat) {
                clock_.move_to(f.offset_ns);
                break;
            }
        }
        return {};
    }
    return error(400, "run-to needs seq=N or next=frame|heartbeat|gap");
}

ControlAnswer ControlApi::faults(std::string_view query) {
    if (auto spec = query_param(query, "add")) {
        std::string why;
        auto f = parse_fault(*spec, why);
        if (!f) {
            return error(400, why);
        }
        add_fault(*f);
    }
    if (query_param(query, "clear")) {
        faults_.clear();
        admission_.stop_refusing();
    }
    std::string body =
        "{\"refuse_remaining\":" + std::to_string(admission_.refusing()) + ",\"faults\":[";
    for (std::size_t i = 0; i < faults_.size(); ++i) {
        body += (i ? "," : "");
        schema::append_json_string(body, faults_[i].describe());
    }
    return {200, body + "]}"};
}

ControlAnswer ControlApi::reset(std::string_view query) {
    const auto name = query_param(query, "client").value_or("");
    const int n = admission_.reset(name);
    if (n == 0 && !name.empty()) {
        return error(404, "no such client (see /_mastotape/status)");
    }
    return {200, "{\"reset\":" + std::to_string(n) + "}"};
}

}  // namespace mastotape::replay
