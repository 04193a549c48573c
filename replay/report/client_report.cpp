#include "replay/report/client_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "replay/report/offered_items.hpp"
#include "schema/text/xml_text.hpp"

namespace mastotape::replay {
namespace {

using Views = std::vector<ClientView>;
using Json = nlohmann::ordered_json;

// A span measured in real time, as the report gives it: to a tenth of a second, so that two runs
// of the same client on the same tape give the same report (the milliseconds are the machine's).
double measured(SteadyClock::duration d) { return std::round(in_seconds(d) * 10) / 10; }

// "2.3 s"
std::string seconds(SteadyClock::duration d) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f s", in_seconds(d));
    return out;
}

// "3 (away 1-2: since_id page full)": the missed items by where and why.
std::string missed_summary(const ClientReport& r) {
    std::map<std::pair<std::string, std::string>, std::size_t> groups;
    for (const auto& m : r.missed) {
        const std::string place =
            m.away ? "away " + std::to_string(*m.away - 1) + "-" + std::to_string(*m.away)
                   : m.where.substr(m.where.find(' ') + 1);
        ++groups[{place, r.findings[m.finding].reason}];
    }
    std::string out = std::to_string(r.missed.size()) + " (";
    std::size_t shown = 0;
    for (const auto& [key, n] : groups) {
        if (shown++ == 3) {
            out += "; ...";
            break;
        }
        out += (shown > 1 ? "; " : "") + key.first + ": " +
               (groups.size() > 1 ? std::to_string(n) + " " : "") + key.second;
    }
    return out + ")";
}

// Whether the client tried again after its connection `i`: a later connection, or attempts.
bool came_back(const ClientLog& log, std::size_t i) {
    return i + 1 < log.connections().size() || log.pending_attempts().count() > 0;
}

// What the wire shows of how the client left connection `i`: right after a heartbeat (it could
// not take it), on noticing a recorded silence (it came back), or in a silence it never came
// back from (it stopped or crashed: noticing a silence is for reconnecting).
std::string connection_phrase(const ClientLog::Connection& c, std::size_t i, bool back,
                              bool timed) {
    const std::string which = "connection " + std::to_string(i);
    if (c.left_after_heartbeat) {
        return "; left " + which +
               (timed ? " " + seconds(*c.left_after_heartbeat) : std::string(" right")) +
               " after a heartbeat (a ping or :thump) was sent: a frame it could not take" +
               (back ? "" : ", and never came back");
    }
    if (!c.silent) {
        return "";
    }
    if (!c.noticed_after) {
        return "; never noticed the silent connection";
    }
    const std::string after = timed ? " after " + seconds(*c.noticed_after) : std::string();
    return back ? "; noticed the silent connection" + after
                : "; left the silent connection" + after +
                      " and never came back (it stopped, not reconnected)";
}

// The one line: items seen of those available, what was missed and why, reconnects, silences,
// pings.
std::string verdict_line(const ClientReport& r, const ClientLog& log, bool timed) {
    const auto& conns = log.connections();
    std::string v = r.name + ": saw " +
                    std::to_string(r.available - static_cast<std::int64_t>(r.missed.size())) +
                    " of " + std::to_string(r.available) + " items";
    if (!r.missed.empty()) {
        v += "; missed " + missed_summary(r);
    }
    if (r.both > 0) {
        v += "; " + std::to_string(r.both) + " both on the stream and over REST";
    }
    if (conns.size() > 1) {
        v += "; " + std::to_string(conns.size() - 1) + " reconnect" + (conns.size() > 2 ? "s" : "");
        std::vector<std::string> delays;
        for (std::size_t i = 1; timed && i < conns.size(); ++i) {
            if (conns[i - 1].ended) {
                delays.push_back(seconds(conns[i].started - *conns[i - 1].ended));
            }
        }
        for (std::size_t i = 0; i < delays.size(); ++i) {
            v += (i == 0 ? ", " : i + 1 == delays.size() ? " and " : ", ") + delays[i];
        }
        v += delays.empty() ? "" : " after the drop";
    }
    for (std::size_t i = 0; timed && i < conns.size(); ++i) {
        if (const std::string p = conns[i].attempts.pattern(); !p.empty()) {
            v += "; before connection " + std::to_string(i + 1) + " it " + p;
        }
    }
    if (const auto& left = log.pending_attempts(); left.count() > 0) {
        v += std::string(r.gave_up ? "; gave up after " : "; ") + std::to_string(left.count()) +
             " attempts refused after its last connection";
    }
    for (std::size_t i = 0; i < conns.size(); ++i) {
        v += connection_phrase(conns[i], i, came_back(log, i), timed);
    }
    if (timed && log.pings() > 0) {  // at --max-speed a pong races the connection's end
        v += "; answered " + std::to_string(std::min(log.pongs(), log.pings())) + "/" +
             std::to_string(log.pings()) + " pings";
        v += log.pongs() == 0 ? " (Mastodon drops a client that never answers)" : "";
    }
    return v;
}

// Judges one client on the tape up to where it got.
ClientReport judge(schema::TapeStore& store, const TapePlan& plan, const ClientView& view) {
    const ClientLog& log = view.log;
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
    const Delivered delivered(store, plan.session.id, log.streamed_runs());
    // A delete or an edit is news only about a status the client had.
    const auto had_status = [&](const std::string& id) {
        if (log.served_over_rest({"update", id})) {
            return true;
        }
        const auto rows = store.event_rows(plan.session.id, "update", id);
        return std::any_of(rows.begin(), rows.end(),
                           [&](std::int64_t row) { return delivered.contains(row); });
    };
    std::vector<MissedItem> missed;
    for_each_offered(store, plan, subs, reached, delivered, [&](const OfferedItem& o) {
        const auto& [event, id] = o.item;
        bool over_rest = false;
        if (event == "delete" || event == "status.update") {
            if (!had_status(id)) {
                return;
            }
            // REST shows a status as edited once the edit has happened, and never a deleted one.
            const auto served = log.served_over_rest({"update", id});
            over_rest = event == "status.update" && served && *served >= o.at;
        } else {
            over_rest = log.served_over_rest(o.item).has_value();
        }
        ++r.available;
        if (o.streamed && over_rest) {
            ++r.both;
        } else if (o.streamed) {
            ++r.on_stream;
        } else if (over_rest) {
            ++r.over_rest;
        } else {
            auto [place, away] = where_on_tape(log, o.happened);
            r.missed.push_back(
                {o.item, o.happened, o.note.empty() ? place : o.note + ", " + place, away, 0});
            missed.push_back({o.item, o.at, o.happened, o.endpoint});
        }
    });
    r.requests = review_requests(log.rest_requests());
    r.findings = explain(log, r.requests, missed);
    for (std::size_t f = 0; f < r.findings.size(); ++f) {
        for (const std::size_t i : r.findings[f].items) {
            r.missed[i].finding = f;
        }
    }
    const auto& conns = log.connections();
    const bool played_out = !conns.empty() && conns.back().how == ConnectionEnd::tape &&
                            conns.back().recorded_end == "tape-end";
    r.gave_up = view.over && log.pending_attempts().count() > 0 && !played_out;
    r.verdict = verdict_line(r, log, view.timed);
    return r;
}

// `timed`: the real-time spans mean something (see ClientView::timed).
Json attempts_json(const Attempts& a, bool timed) {
    Json j;
    j["count"] = a.count();
    if (!timed) {
        return j;
    }
    if (a.first_delay()) {
        j["first_delay_s"] = measured(*a.first_delay());
    }
    if (a.delays() > 0) {
        j["min_delay_s"] = measured(a.min_delay());
        j["max_delay_s"] = measured(a.max_delay());
        j["delays_grew"] = a.grew();
        j["spread"] = std::round(a.spread() * 100) / 100;  // as measured() does
    }
    if (const std::string p = a.pattern(); !p.empty()) {
        j["pattern"] = p;
    }
    return j;
}

Json connections_json(const ClientLog& log, bool timed) {
    Json conns = Json::array();
    const auto& cs = log.connections();
    for (std::size_t k = 0; k < cs.size(); ++k) {
        Json j;
        j["tape_start_ns"] = cs[k].tape_start;
        j["tape_end_ns"] = cs[k].tape_end;
        j["ended_by"] = to_string(cs[k].how);
        if (!cs[k].recorded_end.empty()) {
            j["recorded_end"] = cs[k].recorded_end;
        }
        j["refused_before"] = cs[k].attempts.count() - 1;
        j["attempts"] = attempts_json(cs[k].attempts, timed);
        if (cs[k].left_after_heartbeat) {
            j["left_after_heartbeat"] = true;
            if (timed) {
                j["left_after_heartbeat_s"] = measured(*cs[k].left_after_heartbeat);
            }
        }
        if (cs[k].silent && !timed) {
            j["silence_noticed"] = cs[k].noticed_after.has_value();
        } else if (cs[k].silent) {
            j["silence_noticed_after_s"] =
                cs[k].noticed_after ? Json(measured(*cs[k].noticed_after)) : Json(nullptr);
        }
        if (timed && k > 0 && cs[k - 1].ended) {
            j["reconnect_delay_s"] = measured(cs[k].started - *cs[k - 1].ended);
        }
        conns.push_back(std::move(j));
    }
    return conns;
}

Json requests_json(const ClientReport& r, const ClientLog& log, bool timed) {
    Json out = Json::array();
    const auto& qs = log.rest_requests();
    for (std::size_t i = 0; i < qs.size(); ++i) {
        const auto& q = qs[i];
        const auto& v = r.requests[i];
        Json j;
        j["request"] = q.target;
        j["items"] = q.items;
        j["limit"] = q.limit;
        j["full"] = v.full;
        if (timed) {  // at --max-speed a race between the stream's end and the request
            j["stream"] = q.stream_up ? "up" : "away";
        }
        j["connections_before"] = q.connections_before;
        j["follows"] = v.follows ? Json{{"request", *v.follows + 1}, {"rel", v.rel}} : Json();
        j["link_followed"] = v.followed_prev   ? Json("prev")
                             : v.followed_next ? Json("next")
                                               : Json();
        j["to_the_end"] = v.to_the_end;
        if (timed) {  // at --max-speed, how far the stream had gone when the request came
            j["tape_now_ns"] = q.tape_now;
        }
        out.push_back(std::move(j));
    }
    return out;
}

}  // namespace

// Connections and gaps count from 0 here as everywhere (`show`, `cut`).
std::pair<std::string, std::optional<std::size_t>> where_on_tape(const ClientLog& log,
                                                                 std::int64_t t) {
    const auto& conns = log.connections();
    for (std::size_t i = 0; i < conns.size(); ++i) {
        const bool open = conns[i].how == ConnectionEnd::open;  // up to where it is now
        if (t >= conns[i].tape_start && (open || t <= conns[i].tape_end)) {
            return {"while connection " + std::to_string(i) + " was up", std::nullopt};
        }
        if (t < conns[i].tape_start) {
            if (i == 0) {
                return {"before its first connection", std::nullopt};
            }
            return {"while away between connections " + std::to_string(i - 1) + " and " +
                        std::to_string(i),
                    i};
        }
    }
    return {"after its last connection", std::nullopt};
}

std::vector<ClientReport> make_reports(schema::TapeStore& store, const TapePlan& plan,
                                       const Views& clients) {
    std::vector<ClientReport> out;
    for (const auto& c : clients) {
        out.push_back(judge(store, plan, c));
    }
    return out;
}

std::string reports_json(const std::vector<ClientReport>& reports, const Views& clients,
                         const Json* more) {
    Json out_clients = Json::array();
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const ClientReport& r = reports[i];
        const ClientLog& log = clients[i].log;
        Json c;
        c["name"] = r.name;
        c["verdict"] = r.verdict;
        c["items"] = {{"available", r.available},
                      {"on_stream", r.on_stream},
                      {"over_rest", r.over_rest},
                      {"both", r.both},
                      {"missed", r.missed.size()}};
        Json missed = Json::array();
        for (const auto& m : r.missed) {
            missed.push_back({{"event", m.item.first},
                              {"id", m.item.second},
                              {"offset_ns", m.offset_ns},
                              {"where", m.where},
                              {"why", r.findings[m.finding].reason},
                              {"finding", m.finding + 1}});
        }
        c["missed"] = std::move(missed);
        Json findings = Json::array();
        for (const auto& f : r.findings) {
            findings.push_back({{"reason", f.reason},
                                {"items", f.items.size()},
                                {"request", f.request ? Json(*f.request + 1) : Json()},
                                {"advice", f.advice}});
        }
        c["findings"] = std::move(findings);
        const bool timed = clients[i].timed;
        c["connections"] = connections_json(log, timed);
        c["attempts_after_last"] = attempts_json(log.pending_attempts(), timed);
        c["gave_up"] = r.gave_up;
        c["rest_requests"] = requests_json(r, log, timed);
        c["pings"] = timed ? Json{{"sent", log.pings()}, {"pongs", log.pongs()}}
                           : Json{{"sent", log.pings()}};
        out_clients.push_back(std::move(c));
    }
    Json out;
    out["clients"] = std::move(out_clients);
    if (more != nullptr) {
        out.update(*more);
    }
    return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

namespace {

std::string junit_case(const JunitCase& c) {
    std::string out = "  <testcase classname=\"" + schema::xml_escaped(c.classname) + "\" name=\"" +
                      schema::xml_escaped(c.name) + "\"";
    if (!c.failure) {
        return out + "/>\n";
    }
    return out + ">\n    <failure message=\"" + schema::xml_escaped(*c.failure) + "\">" +
           schema::xml_escaped(c.text) + "</failure>\n  </testcase>\n";
}

// A client's case: failed when it missed an item (its missed items and the findings that explain
// them).
JunitCase client_case(const std::string& name, const ClientReport& r,
                      const std::vector<const ClientReport::Missed*>& missed) {
    JunitCase c{"mastotape.replay", name, {}, {}};
    if (missed.empty()) {
        return c;
    }
    std::vector<bool> explained(r.findings.size());
    for (const auto* m : missed) {
        c.text += m->item.first + " " + m->item.second + " (" + m->where + "; " +
                  r.findings[m->finding].reason + ")\n";
        explained[m->finding] = true;
    }
    for (std::size_t f = 0; f < r.findings.size(); ++f) {
        c.text += explained[f] ? r.findings[f].advice + "\n" : "";
    }
    c.failure = "missed " + std::to_string(missed.size()) + " items";
    return c;
}

}  // namespace

std::string reports_junit(const std::vector<ClientReport>& reports, const Views& clients,
                          const std::vector<JunitCase>& more, const std::string& out) {
    std::vector<JunitCase> cases;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const ClientReport& r = reports[i];
        std::vector<const ClientReport::Missed*> all;
        for (const auto& m : r.missed) {
            all.push_back(&m);
        }
        cases.push_back(client_case(r.verdict, r, all));
        const auto& conns = clients[i].log.connections();
        for (std::size_t k = 1; k < conns.size(); ++k) {
            std::vector<const ClientReport::Missed*> in_gap;
            for (const auto& m : r.missed) {
                if (m.away == k) {
                    in_gap.push_back(&m);
                }
            }
            cases.push_back(client_case(r.name + ": away between connections " +
                                            std::to_string(k - 1) + " and " + std::to_string(k),
                                        r, in_gap));
        }
    }
    cases.insert(cases.end(), more.begin(), more.end());
    std::string body;
    std::size_t failures = 0;
    for (const auto& c : cases) {
        body += junit_case(c);
        failures += c.failure ? 1 : 0;
    }
    if (!out.empty()) {
        body += "  <system-out>" + schema::xml_escaped(out) + "</system-out>\n";
    }
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"mastotape replay\" "
           "tests=\"" +
           std::to_string(cases.size()) + "\" failures=\"" + std::to_string(failures) + "\">\n" +
           body + "</testsuite>\n";
}

}  // namespace mastotape::replay
