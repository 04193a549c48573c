#include "replay/admission.hpp"

#include <algorithm>

namespace mastotape::replay {

Admission::Admission(const TapePlan& plan, const ReplayClock& clock, bool loop, bool report)
    : plan_(plan), clock_(clock), loop_(loop), report_(report) {}

ClientState& Admission::client(const std::string& token) {
    const std::string key = clock_.shared() ? std::string() : token;
    auto it = clients_.find(key);
    if (it == clients_.end()) {
        ClientState s;
        s.name = "client " + std::to_string(clients_.size() + 1);
        s.log.keep_items(report_);
        it = clients_.emplace(key, std::move(s)).first;
    }
    return it->second;
}

Admitted Admission::admit(ClientState& c) {
    Admitted a = decide(c);
    if (a.ok) {
        a.start = start_of(c, a.connection);
    } else {
        c.log.attempt_refused(SteadyClock::now());
    }
    return a;
}

Admitted Admission::decide(ClientState& c) {
    Admitted a;
    if (const auto status = refusals_.take()) {
        a.status = *status;
        a.error_message = "refused by a fault overlay";
        return a;
    }
    if (clock_.one_timeline()) {
        const std::int64_t now = clock_.shared_tape_now();
        for (std::size_t k = 0; k < plan_.connections.size(); ++k) {
            const auto& p = plan_.connections[k];
            if (now >= p.up_offset_ns && now < p.end_offset_ns) {
                a.ok = true;
                a.connection = k;
                return a;
            }
            if (now < p.up_offset_ns) {
                return refuse_in_gap(c, k);
            }
        }
        a.error_message = "the tape has ended";
        return a;
    }
    if (c.ending) {
        // The client gave up on a connection that had nothing left to send, before this server
        // saw it go: that connection has been played.
        const std::size_t k = *c.ending;
        played(c, k);
        c.superseded = k;
    }
    if (c.finished) {
        if (!loop_) {
            a.error_message = "the tape has ended";
            return a;
        }
        c.finished = false;
        c.next = 0;
    }
    if (c.resume_at && clock_.mode() == ClockMode::realtime) {
        catch_up(c);
        if (c.finished) {
            a.error_message = "the tape has ended";
            return a;
        }
    }
    if (clock_.mode() == ClockMode::realtime && clock_.now() < c.gap_until) {
        return refuse_in_gap(c, c.next);
    }
    a.ok = true;
    a.connection = c.next;
    c.refused_in_gap = 0;
    return a;
}

// Fails an attempt the way the recording's attempts in this gap failed.
Admitted Admission::refuse_in_gap(ClientState& c, std::size_t next) {
    Admitted a;
    const auto& failed = plan_.connections[next].failed_before;
    if (!failed.empty()) {
        const auto& f = failed[std::min(c.refused_in_gap, failed.size() - 1)];
        a.status = static_cast<int>(f.http_status.value_or(0));
        a.error_message = f.error_message;
    }
    ++c.refused_in_gap;
    return a;
}

// A client away from a connection it had not finished, at a real-time clock: the recorded ends
// its clock passed meanwhile happened without it, and so did the gaps after them.
void Admission::catch_up(ClientState& c) {
    const std::int64_t now = clock_.tape_now(c.clock);
    while (c.resume_at && now >= plan_.end_of(c.next)) {
        c.ending.reset();
        c.refused_in_gap = 0;
        if (c.next + 1 >= plan_.connections.size()) {
            c.resume_at.reset();
            c.finished = true;
            return;
        }
        await_connection(c, c.next + 1, now);
    }
}

void Admission::await_connection(ClientState& c, std::size_t k, std::int64_t now) {
    c.next = k;
    c.resume_at = now;  // start_of() takes where the client's clock stands when it is let in
    const PlannedConnection& p = plan_.connections[k];
    std::int64_t refused_until = now;
    if (!p.failed_before.empty()) {
        const schema::Connection& last = p.failed_before.back();
        refused_until =
            std::min(last.ended_offset_ns.value_or(last.started_offset_ns), p.up_offset_ns);
    }
    c.gap_until = clock_.now() + clock_.scaled(std::max<std::int64_t>(refused_until - now, 0));
}

std::int64_t Admission::start_of(ClientState& c, std::size_t k) {
    const PlannedConnection& p = plan_.connections[k];
    if (clock_.one_timeline()) {
        return std::max(clock_.shared_tape_now(), p.up_offset_ns);
    }
    if (c.resume_at) {
        const std::int64_t resumed =
            clock_.mode() == ClockMode::realtime ? clock_.tape_now(c.clock) : *c.resume_at;
        c.resume_at.reset();
        return std::max(resumed, p.up_offset_ns);
    }
    return p.up_offset_ns;
}

void Admission::started(ClientState& c, std::size_t k, std::int64_t start) {
    clock_.set(c.clock, start);
    if (clock_.mode() == ClockMode::max_speed || clock_.mode() == ClockMode::realtime) {
        c.clock.rest_at = std::max(plan_.connections[k].rest_at_ns, start);
    }
}

void Admission::played(ClientState& c, std::size_t k) {
    if (c.superseded == k) {
        c.superseded.reset();
        return;
    }
    c.ending.reset();
    if (clock_.one_timeline()) {
        return;
    }
    // The REST view stays at this connection's end until the next one starts, so a backfill made
    // meanwhile sees what had happened by then, also at --max-speed.
    clock_.set(c.clock, plan_.connections[k].end_offset_ns);
    c.refused_in_gap = 0;
    if (k + 1 >= plan_.connections.size()) {
        c.finished = true;
        return;
    }
    c.next = k + 1;
    if (clock_.mode() == ClockMode::realtime) {
        await_connection(c, k + 1, plan_.connections[k].end_offset_ns);
    }
}

void Admission::cut_short(ClientState& c, std::int64_t last_offset) {
    c.ending.reset();
    c.resume_at = last_offset + 1;
    clock_.set(c.clock, last_offset + 1);
}

void Admission::left(ClientState& c, std::size_t k, std::int64_t last_offset) {
    if (c.superseded == k) {
        c.superseded.reset();
        return;
    }
    c.ending.reset();
    c.resume_at = last_offset + 1;
    if (clock_.mode() != ClockMode::realtime) {
        clock_.set(c.clock, last_offset + 1);
    }
}

int Admission::reset(const std::string& name) {
    int n = 0;
    for (auto& [token, c] : clients_) {
        if (name.empty() || c.name == name) {
            // A connection still playing goes on, but no longer moves the client.
            ClientState fresh;
            fresh.name = c.name;
            fresh.log.keep_items(report_);
            fresh.live = c.live;
            fresh.generation = c.generation + 1;
            c = std::move(fresh);
            ++n;
        }
    }
    return n;
}

}  // namespace mastotape::replay
