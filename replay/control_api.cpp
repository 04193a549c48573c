#include "replay/control_api.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::assets {
extern const std::string_view kDashboardPage;  // replay/assets/dashboard.html
}  // namespace mastotape::assets

namespace mastotape::replay {
namespace {

ControlAnswer error(int status, const std::string& message) {
    return {status, schema::error_json(message)};
}

// A number in the query: nullopt when absent, NaN when not a finite number in [0, 1e12].
std::optional<double> query_number(std::string_view query, const char* name) {
    const auto text = schema::query_param(query, name);
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

// A document of the control API as bytes: text not valid UTF-8 (a label, a close reason) gets
// U+FFFD where it breaks.
std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// The session as the dashboard shows it: which, from where, its streams, how long.
nlohmann::ordered_json tape_json(schema::TapeStore& store, std::int64_t session_id,
                                 const TapePlan& plan) {
    const schema::Session s = store.session(session_id);
    const schema::SessionCounts counts = store.counts(session_id);
    nlohmann::ordered_json streams = nlohmann::ordered_json::array();
    for (const auto& sub : s.subscriptions) {
        streams.push_back(sub.spec());
    }
    return {{"session", session_id},
            {"label", s.label},
            {"source", s.source},
            {"transport", schema::to_string(s.transport)},
            {"streams", std::move(streams)},
            {"length_ns", std::max(s.ended_offset_ns.value_or(0), counts.last_offset_ns)},
            {"frames", counts.frames},
            {"events", counts.events},
            {"gaps", counts.gaps},
            {"recorded_connections", plan.connections.size()}};
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
        admission_.refuse_next(f.n, static_cast<int>(f.code));
    } else if (f.kind == FaultKind::rest_error) {
        admission_.refuse_rest(f.n, static_cast<int>(f.code));
    } else {
        faults_.push_back(f);
    }
}

bool ControlApi::keeps_report(std::string_view path) const {
    return path == "/_mastotape/report" && admission_.keeps_items();
}

std::vector<ClientView> ControlApi::clients(bool whole_tape) const {
    std::vector<ClientView> out;
    for (const auto& [token, c] : admission_.clients()) {
        std::int64_t now = c.position_ns.value_or(0);
        if (whole_tape) {
            now = plan_.end_offset_ns;
        } else if (clock_.one_timeline()) {
            now = clock_.shared_tape_now();
        } else if (clock_.mode() == ClockMode::realtime && c.clock.started) {
            now = clock_.tape_now(c.clock);
        }
        out.push_back({c.name, c.log, now,
                       c.live > 0 ? c.subscriptions : decltype(c.subscriptions){},
                       clock_.mode() == ClockMode::realtime, whole_tape});
    }
    // "client 2" before "client 10": in the order they came.
    std::sort(out.begin(), out.end(), [](const ClientView& a, const ClientView& b) {
        return std::make_pair(a.name.size(), a.name) < std::make_pair(b.name.size(), b.name);
    });
    return out;
}

ControlAnswer ControlApi::handle(std::string_view path, std::string_view query) {
    if (path == "/_mastotape/") {
        return {200, std::string(assets::kDashboardPage), "text/html; charset=utf-8"};
    }
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
        return {200, dump({{"paused", clock_.paused()}})};
    }
    if (path == "/_mastotape/faults") {
        return faults(query);
    }
    if (path == "/_mastotape/reset") {
        return reset(query);
    }
    return error(404, "unknown control path");
}

// What the embeddings' wait_for_client() waits for: a live connection with a subscription (its
// query string's stream, or a subscribe frame the server has read).
bool ControlApi::ready(const ClientState& c) { return c.live > 0 && !c.subscriptions.empty(); }

ControlAnswer ControlApi::status() const {
    if (tape_json_.empty()) {  // the tape's counts: not worth a replayer's start-up
        tape_json_ = dump(tape_json(store_, session_id_, plan_));
    }
    int subscribed = 0;
    nlohmann::ordered_json clients = nlohmann::ordered_json::array();
    for (const auto& [token, c] : admission_.clients()) {
        subscribed += ready(c) ? 1 : 0;
        clients.push_back(client_json(c));
    }
    const nlohmann::ordered_json out = {{"clock", mode_name(clock_.mode())},
                                        {"speed", clock_.speed()},
                                        {"tape_offset_ns", clock_.shared_tape_now()},
                                        {"session", session_id_},
                                        {"tape", nlohmann::ordered_json::parse(tape_json_)},
                                        {"recorded_connections", plan_.connections.size()},
                                        {"live_connections", player_.live()},
                                        {"paused", clock_.paused()},
                                        {"report_kept", admission_.keeps_items()},
                                        {"lateness", player_.lateness().json()},
                                        {"faults", faults_json()},
                                        {"clients_subscribed", subscribed},
                                        {"clients", std::move(clients)}};
    return {200, dump(out)};
}

// One client: never its token (the map's key), only the name it was given.
nlohmann::ordered_json ControlApi::client_json(const ClientState& c) const {
    nlohmann::ordered_json subscriptions = nlohmann::ordered_json::array();
    for (const auto& sub : c.subscriptions) {
        nlohmann::ordered_json label = {sub.stream};  // as the server labels its events
        if (!sub.param.empty()) {
            label.push_back(sub.param);
        }
        subscriptions.push_back(std::move(label));
    }
    nlohmann::ordered_json connections = nlohmann::ordered_json::array();
    for (const ClientLog::Connection& k : c.log.connections()) {
        connections.push_back({{"tape_start_ns", k.tape_start},
                               {"tape_end_ns", k.tape_end},
                               {"how", to_string(k.how)},
                               {"recorded_end", k.recorded_end}});
    }
    return {{"name", c.name},
            {"next_connection", c.next},
            {"live", c.live},
            {"subscribed", ready(c)},
            {"finished", c.finished},
            {"frames_sent", c.frames_sent},
            {"position_ns", c.position_ns ? nlohmann::ordered_json(*c.position_ns) : nullptr},
            {"lateness", c.lateness.json()},
            {"subscriptions", std::move(subscriptions)},
            {"connections", std::move(connections)}};
}

nlohmann::ordered_json ControlApi::faults_json() const {
    nlohmann::ordered_json faults = nlohmann::ordered_json::array();
    for (const auto& f : faults_) {
        faults.push_back(f.describe());
    }
    return {{"refuse_remaining", admission_.refusing()},
            {"rest_errors_remaining", admission_.refusing_rest()},
            {"faults", std::move(faults)}};
}

ControlAnswer ControlApi::clock_control(std::string_view path, std::string_view query) {
    if (clock_.mode() != ClockMode::virtual_clock) {
        return error(409, "the clock is not virtual (start with --virtual-clock)");
    }
    if (path == "/_mastotape/clock/advance") {
        const auto ms = query_number(query, "ms");
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
    return {200, dump({{"tape_offset_ns", clock_.virtual_ns()}})};
}

// Moves the virtual clock to a frame (seq=N), or to the next frame, heartbeat or gap.
ControlAnswer ControlApi::run_to(std::string_view query) {
    if (const auto seq = query_number(query, "seq")) {
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
    const auto next = schema::query_param(query, "next");
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
            if (next == "frame" || schema::is_heartbeat(f.columns.kind, f.bytes)) {
                clock_.move_to(f.offset_ns);
                break;
            }
        }
        return {};
    }
    return error(400, "run-to needs seq=N or next=frame|heartbeat|gap");
}

ControlAnswer ControlApi::faults(std::string_view query) {
    if (auto spec = schema::query_param(query, "add")) {
        std::string why;
        auto f = parse_fault(*spec, why);
        if (!f) {
            return error(400, why);
        }
        add_fault(*f);
    }
    if (schema::query_param(query, "clear")) {
        faults_.clear();
        admission_.stop_refusing();
    }
    return {200, dump(faults_json())};
}

ControlAnswer ControlApi::reset(std::string_view query) {
    const auto name = schema::query_param(query, "client").value_or("");
    const int n = admission_.reset(name);
    if (n == 0 && !name.empty()) {
        return error(404, "no such client (see /_mastotape/status)");
    }
    return {200, dump({{"reset", n}})};
}

}  // namespace mastotape::replay
