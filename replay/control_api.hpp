#pragma once

// The control API under /_mastotape/ (DESIGN section 4): status (the tape, clock, position,
// clients, faults), clock control (pause, resume, advance and run-to on a virtual clock), fault
// overlays at run time, and resetting clients; and at /_mastotape/ itself the dashboard, one page
// (replay/assets/dashboard.html) that drives them. Answers are JSON but for the page; Beast-free
// (the server writes them). Network thread only.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/admission.hpp"
#include "replay/control_answer.hpp"
#include "replay/faults.hpp"
#include "replay/player.hpp"
#include "replay/replay_clock.hpp"
#include "replay/report/client_report.hpp"
#include "replay/tape_plan.hpp"

namespace mastotape::replay {

class ControlApi {
   public:
    // Everything given must outlive the object.
    ControlApi(schema::TapeStore& store, std::int64_t session_id, const TapePlan& plan,
               ReplayClock& clock, Admission& admission, Player& player,
               std::vector<Fault>& faults);

    // Whether `path` is the control API's (the reserved prefix).
    static bool owns(std::string_view path);
    // Answers a request for `path` (one it owns) with query `query`.
    ControlAnswer handle(std::string_view path, std::string_view query);
    // Adds a fault overlay (from --fault or the API).
    void add_fault(const Fault& f);
    // Whether `path` asks for the report and one is kept: the caller makes it from clients()
    // with make_reports, where reading the tape holds up no frame.
    bool keeps_report(std::string_view path) const;
    // The clients as the report sees them (copies of their logs), in the order they came.
    // `whole_tape`: each client judged on the whole tape (the run is over: what it did not take
    // before it left, it missed), not on where its clock stands.
    std::vector<ClientView> clients(bool whole_tape = false) const;

   private:
    ControlAnswer status() const;
    nlohmann::ordered_json client_json(const ClientState& c) const;
    static bool ready(const ClientState& c);
    nlohmann::ordered_json faults_json() const;
    ControlAnswer clock_control(std::string_view path, std::string_view query);
    ControlAnswer run_to(std::string_view query);
    ControlAnswer faults(std::string_view query);
    ControlAnswer reset(std::string_view query);

    schema::TapeStore& store_;
    std::int64_t session_id_;
    const TapePlan& plan_;
    ReplayClock& clock_;
    Admission& admission_;
    Player& player_;
    std::vector<Fault>& faults_;
    mutable std::string tape_json_;  // what /status says of the tape, made at its first call
};

}  // namespace mastotape::replay
