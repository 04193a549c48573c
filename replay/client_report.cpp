#include "replay/client_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "replay/client_protocol.hpp"
#include "schema/streams.hpp"

namespace mastotape::replay {
namespace {

using Views = std::vector<ClientView>;

// The endpoints that hold a subscription's items, with the event that brings each.
std::vector<std::pair<std::string, std::string>> endpoints_of(const schema::Subscription& s) {
    std::vector<std::pair<std::string, std::string>> out;
    if (const std::string timeline = schema::status_timeline(s); !timeline.empty()) {
        out.emplace_back(timeline, "update");
    }
    if (const auto* info = schema::find_stream(s.stream)) {
        if (info->notifications) {
            out.emplace_back("/api/v1/notifications", "notification");
        }
        if (info->conversations) {
            out.emplace_back("/api/v1/conversations", "conversation");
        }
    }
    return out;
}

// "2.3 s"
std::string seconds(SteadyClock::duration d) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f s", std::chrono::duration<double>(d).count());
    return out;
}

// Where a client was when the tape made an item available at `t`.
std::string where(const ClientLog& log, std::int64_t t) {
    const auto& conns = log.connections();
    for (std::size_t i = 0; i < conns.size(); ++i) {
        if (t >= conns[i].tape_start && t <= conns[i].tape_end) {
            return "while connection " + std::to_string(i + 1) + " was up";
        }
        if (t < conns[i].tape_start) {
            return i == 0 ? std::string("before its first connection")
                          : "while away between connections " + std::to_string(i) + " and " +
                                std::to_string(i + 1);
        }
    }
    return "after its last connection";
}

// An item the tape made available: from when (on the stream, or once the recording's backfill
// had it), and when it happened (for a gap's item: the middle of the gap), with a note.
struct Offer {
    std::int64_t at = 0;
    std::int64_t happened = 0;
    std::string note;
};

// What the tape made available on `subs` up to tape time `reached`.
std::map<Item, Offer> available_items(schema::TapeStore& store, const TapePlan& plan,
                                      const std::vector<schema::Subscription>& subs,
                                      std::int64_t reached) {
    std::map<Item, Offer> available;
    const auto offer = [&](Item item, std::int64_t t, std::int64_t happened, std::string note) {
        if (t <= reached && !available.count(item)) {
            available.emplace(std::move(item), Offer{t, happened, std::move(note)});
        }
    };
    const std::string sse_label =
        plan.session.transport == schema::Transport::sse && !plan.session.subscriptions.empty()
            ? plan.session.subscriptions.front().label()
            : std::string();
    auto frames = store.frames_from_seq(plan.session.id, 1);
    schema::Frame f;
    while (frames.next(f) && f.offset_ns <= reached) {
        if (f.columns.kind != schema::FrameKind::event || !f.columns.object_id ||
            !f.columns.event) {
            continue;
        }
        const std::string label = f.columns.stream ? *f.columns.stream : sse_label;
        if (std::any_of(subs.begin(), subs.end(),
                        [&](const auto& s) { return label_matches(label, s); })) {
            offer({*f.columns.event, *f.columns.object_id}, f.offset_ns, f.offset_ns, "");
        }
    }
    std::map<std::int64_t, std::int64_t> gap_middle;
    for (const auto& g : store.gaps(plan.session.id)) {
        gap_middle[g.idx] =
            g.end_offset_ns ? (g.start_offset_ns + *g.end_offset_ns) / 2 : g.start_offset_ns;
    }
    for (const auto& b : store.backfill(plan.session.id)) {
        for (const auto& s : subs) {
            for (const auto& [endpoint, event] : endpoints_of(s)) {
                if (b.endpoint == endpoint && !b.object_id.empty()) {
                    offer({event, b.object_id}, b.offset_ns, gap_middle[b.gap_idx],
                          "published in the recorded gap " + std::to_string(b.gap_idx + 1));
                }
            }
        }
    }
    return available;
}

// The one line: items seen of those available, what was missed, reconnects, silences, pings.
std::string verdict_line(const ClientReport& r, const ClientLog& log) {
    const auto& conns = log.connections();
    std::string v = r.name + ": saw " +
                    std::to_string(r.available - static_cast<std::int64_t>(r.missed.size())) +
                    " of " + std::to_string(r.available) + " items";
    if (!r.missed.empty()) {
        v += "; missed " + std::to_string(r.missed.size());
    }
    if (r.both > 0) {
        v += "; " + std::to_string(r.both) + " both on the stream and over REST";
    }
    if (conns.size() > 1) {
        v += "; " + std::to_string(conns.size() - 1) + " reconnect" + (conns.size() > 2 ? "s" : "");
        std::string delays;
        for (std::size_t i = 1; i < conns.size(); ++i) {
            if (conns[i - 1].ended) {
                delays +=
                    (delays.empty() ? "" : ", ") + seconds(conns[i].started - *conns[i - 1].ended);
            }
        }
        if (!delays.empty()) {
            v += ", " + delays + " after the drop";
        }
    }
    for (const auto& c : conns) {
        if (c.silent) {
            v += c.noticed_after
                     ? "; noticed the silent connection after " + seconds(*c.noticed_after)
                     : std::string("; never noticed the silent connection");
        }
    }
    if (log.pings() > 0) {
        v += "; answered " + std::to_string(std::min(log.pongs(), log.pings())) + "/" +
             std::to_string(log.pings()) + " pings";
    }
    return v;
}

// Judges one client on the tape up to where it got.
ClientReport judge(schema::TapeStore& store, const TapePlan& plan, const ClientView& view) {
    const ClientLog& log = *view.log;
    ClientReport r;
    r.name = view.name;
    // Where its clock stands (it runs on while a client is away: a client that never comes back
    // is judged on what came meanwhile too), or where its connections got.
    std::int64_t reached = log.connections().empty() ? -1 : view.position_ns;
    for (const auto& c : log.connections()) {
        reached = std::max(reached, c.tape_end);
    }
    std::vector<schema::Subscription> subs = log.subscriptions();
    for (const auto& s : view.live_subscriptions) {
        if (std::find(subs.begin(), subs.end(), s) == subs.end()) {
            subs.push_back(s);
        }
    }
    const auto& streamed = log.streamed_items();
    const auto& rest = log.rest_items();
    const auto got_status = [&](const std::string& id) {
        return streamed.count({"update", id}) || rest.count({"update", id});
    };
    for (const auto& [item, at] : available_items(store, plan, subs, reached)) {
        const auto& [event, id] = item;
        const bool on_stream = streamed.count(item) > 0;
        bool over_rest = false;
        if (event == "delete" || event == "status.update") {
            if (!got_status(id)) {
                continue;  // a delete or an edit of a status the client never had is no news
            }
            // REST shows a status as edited once the edit has happened, and never a deleted one.
            const auto served = rest.find({"update", id});
            over_rest = event == "status.update" && served != rest.end() && served->second >= at.at;
        } else {
            over_rest = rest.count(item) > 0;
        }
        ++r.available;
        if (on_stream && over_rest) {
            ++r.both;
        } else if (on_stream) {
            ++r.on_stream;
        } else if (over_rest) {
            ++r.over_rest;
        } else {
            const std::string place = where(log, at.happened);
            r.missed.push_back(
                {item, at.happened, at.note.empty() ? place : at.note + ", " + place});
        }
    }
    r.verdict = verdict_line(r, log);
    return r;
}

const char* to_string(ConnectionEnd how) {
    switch (how) {
        case ConnectionEnd::open:
            return "open";
        case ConnectionEnd::tape:
            return "tape";
        case ConnectionEnd::fault:
            return "fault";
        case ConnectionEnd::client:
            return "client";
    }
    return "open";
}

std::string xml_escaped(const std::string& s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace

void ClientLog::connection_started(TimePoint at, std::int64_t tape_start) {
    Connection c;
    c.started = at;
    c.tape_start = tape_start;
    c.tape_end = tape_start;
    c.refused_before = refused_since_last_;
    refused_since_last_ = 0;
    connections_.push_back(c);
}

void ClientLog::connection_ended(TimePoint at, std::int64_t tape_end, ConnectionEnd how,
                                 std::string recorded_end,
                                 const std::vector<schema::Subscription>& subscriptions) {
    if (connections_.empty()) {
        return;
    }
    Connection& c = connections_.back();
    c.ended = at;
    c.tape_end = std::max(c.tape_start, tape_end);
    c.how = how;
    c.recorded_end = std::move(recorded_end);
    for (const auto& s : subscriptions) {
        if (std::find(subscriptions_.begin(), subscriptions_.end(), s) == subscriptions_.end()) {
            subscriptions_.push_back(s);
        }
    }
}

void ClientLog::silence(std::optional<SteadyClock::duration> noticed) {
    if (!connections_.empty()) {
        connections_.back().silent = true;
        connections_.back().noticed_after = noticed;
    }
}

void ClientLog::rest_page(const std::string& target, const std::string& event,
                          const std::vector<std::string>& ids, std::int64_t tape_now) {
    if (!keep_items_) {
        return;
    }
    for (const auto& id : ids) {
        auto& latest = rest_[{event, id}];
        latest = std::max(latest, tape_now);
    }
    requests_.push_back({target, static_cast<std::int64_t>(ids.size()), tape_now});
}

std::vector<ClientReport> make_reports(schema::TapeStore& store, const TapePlan& plan,
                                       const Views& clients) {
    std::vector<ClientReport> out;
    for (const auto& c : clients) {
        out.push_back(judge(store, plan, c));
    }
    return out;
}

std::string reports_json(const std::vector<ClientReport>& reports, const Views& clients) {
    nlohmann::ordered_json out_clients = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const ClientReport& r = reports[i];
        const ClientLog& log = *clients[i].log;
        nlohmann::ordered_json c;
        c["name"] = r.name;
        c["verdict"] = r.verdict;
        c["items"] = {{"available", r.available},
                      {"on_stream", r.on_stream},
                      {"over_rest", r.over_rest},
                      {"both", r.both},
                      {"missed", r.missed.size()}};
        nlohmann::ordered_json missed = nlohmann::ordered_json::array();
        for (const auto& m : r.missed) {
            missed.push_back({{"event", m.item.first},
                              {"id", m.item.second},
                              {"offset_ns", m.offset_ns},
                              {"where", m.where}});
        }
        c["missed"] = std::move(missed);
        nlohmann::ordered_json conns = nlohmann::ordered_json::array();
        const auto& cs = log.connections();
        for (std::size_t k = 0; k < cs.size(); ++k) {
            nlohmann::ordered_json j;
            j["tape_start_ns"] = cs[k].tape_start;
            j["tape_end_ns"] = cs[k].tape_end;
            j["ended_by"] = to_string(cs[k].how);
            if (!cs[k].recorded_end.empty()) {
                j["recorded_end"] = cs[k].recorded_end;
            }
            j["refused_before"] = cs[k].refused_before;
            if (cs[k].silent) {
                j["silence_noticed_after_s"] =
                    cs[k].noticed_after
                        ? nlohmann::ordered_json(
                              std::chrono::duration<double>(*cs[k].noticed_after).count())
                        : nlohmann::ordered_json(nullptr);
            }
            if (k > 0 && cs[k - 1].ended) {
                j["reconnect_delay_s"] =
                    std::chrono::duration<double>(cs[k].started - *cs[k - 1].ended).count();
            }
            conns.push_back(std::move(j));
        }
        c["connections"] = std::move(conns);
        c["refused_after_last"] = log.refused_since_last();
        nlohmann::ordered_json requests = nlohmann::ordered_json::array();
        for (const auto& q : log.rest_requests()) {
            requests.push_back(
                {{"request", q.target}, {"items", q.items}, {"tape_now_ns", q.tape_now}});
        }
        c["rest_requests"] = std::move(requests);
        c["pings"] = {{"sent", log.pings()}, {"pongs", log.pongs()}};
        out_clients.push_back(std::move(c));
    }
    nlohmann::ordered_json out;
    out["clients"] = std::move(out_clients);
    return out.dump(2) + "\n";
}

std::string reports_junit(const std::vector<ClientReport>& reports, const Views& clients) {
    std::string cases;
    std::size_t tests = 0;
    std::size_t failures = 0;
    const auto test_case = [&](const std::string& name,
                               const std::vector<const ClientReport::Missed*>& missed) {
        ++tests;
        cases += "  <testcase classname=\"mastotape.replay\" name=\"" + xml_escaped(name) + "\"";
        if (missed.empty()) {
            cases += "/>\n";
            return;
        }
        ++failures;
        std::string text;
        for (const auto* m : missed) {
            text += m->item.first + " " + m->item.second + " (" + m->where + ")\n";
        }
        cases += ">\n    <failure message=\"missed " + std::to_string(missed.size()) + " items\">" +
                 xml_escaped(text) + "</failure>\n  </testcase>\n";
    };
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const ClientReport& r = reports[i];
        std::vector<const ClientReport::Missed*> all;
        for (const auto& m : r.missed) {
            all.push_back(&m);
        }
        test_case(r.verdict, all);
        const auto& conns = clients[i].log->connections();
        for (std::size_t k = 1; k < conns.size(); ++k) {
            const std::string gap =
                "between connections " + std::to_string(k) + " and " + std::to_string(k + 1);
            std::vector<const ClientReport::Missed*> in_gap;
            for (const auto& m : r.missed) {
                if (m.where.find(gap) != std::string::npos) {
                    in_gap.push_back(&m);
                }
            }
            test_case(r.name + ": away " + gap, in_gap);
        }
    }
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"mastotape replay\" "
           "tests=\"" +
           std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\">\n" + cases +
           "</testsuite>\n";
}

}  // namespace mastotape::replay
