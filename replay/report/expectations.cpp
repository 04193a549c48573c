#include "replay/report/expectations.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "replay/user_document.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/rest_endpoints.hpp"

namespace mastotape::replay {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

// "12.300 s"
std::string at_text(std::int64_t ns) {
    char out[40];
    std::snprintf(out, sizeof out, "%.3f s", static_cast<double>(ns) / 1e9);
    return out;
}

std::string value_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// "60 s", "2.5 s"
std::string span_text(double s) {
    char out[40];
    std::snprintf(out, sizeof out, "%g s", s);
    return out;
}

HttpCall call_of(const JournalEntry& e) {
    return {e.method, e.path, e.query, e.body, e.content_type, {}, e.at_ns, {}};
}

double seconds_of(const Json& v, const std::string& where) {
    if (!v.is_number() || v.get<double>() <= 0) {
        fail(where, "expected seconds, more than 0");
    }
    return v.get<double>();
}

std::int64_t count_of(const Json& v, const std::string& where) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
        fail(where, "expected a count, 0 or more");
    }
    return v.get<std::int64_t>();
}

void read_for_each(Expectation& x, const Json& spec, const std::string& where) {
    if (!spec.is_object() || !spec.contains("event") || !spec["event"].is_string()) {
        fail(where, "expected {event: NAME, FIELD: VALUE...}");
    }
    x.event = spec["event"].get<std::string>();
    for (const auto& [key, value] : spec.items()) {
        if (key != "event") {
            if (value.is_object() || value.is_array()) {
                fail(member_at(where, key), "expected the text the payload's field equals");
            }
            x.fields.emplace_back(key, value_text(value));
        }
    }
}

// The expectation in words.
std::string what_of(const Expectation& x) {
    switch (x.kind) {
        case Expectation::Kind::for_each: {
            std::string items = "every " + x.event;
            for (const auto& [k, v] : x.fields) {
                items += ' ';
                items += k;
                items += '=';
                items += v;
            }
            return "for " + items + ": " + x.request.describe() +
                   (x.within_s ? " within " + span_text(*x.within_s) : "");
        }
        case Expectation::Kind::never:
            return "never " + x.request.describe();
        case Expectation::Kind::at_most:
            return "at most " + std::to_string(x.count) + " requests" +
                   (x.per_s ? " per " + span_text(*x.per_s) : "") +
                   " like: " + x.request.describe();
        case Expectation::Kind::at_least:
            return "at least " + std::to_string(x.count) +
                   " requests like: " + x.request.describe();
    }
    return {};
}

Expectation expectation_of(const Json& spec, const std::string& where) {
    if (!spec.is_object()) {
        fail(where, "expected an object, found " + json_kind(spec));
    }
    Expectation x;
    int kinds = 0;
    for (const auto& [key, value] : spec.items()) {
        const std::string at = member_at(where, key);
        if (key == "name") {
            x.name = value_text(value);
        } else if (key == "request") {
            x.request = RequestMatcher::parse(value, at);
        } else if (key == "for_each") {
            x.kind = Expectation::Kind::for_each;
            ++kinds;
            read_for_each(x, value, at);
        } else if (key == "never") {
            x.kind = Expectation::Kind::never;
            ++kinds;
            x.request = RequestMatcher::parse(value, at);
        } else if (key == "at_most" || key == "at_least") {
            x.kind = key == "at_most" ? Expectation::Kind::at_most : Expectation::Kind::at_least;
            ++kinds;
            x.count = count_of(value, at);
        } else if (key == "within_s") {
            x.within_s = seconds_of(value, at);
        } else if (key == "per_s") {
            x.per_s = seconds_of(value, at);
        } else {
            fail(at,
                 "unknown key (an expectation has name, for_each, never, at_most, at_least, "
                 "request, within_s, per_s)");
        }
    }
    if (kinds != 1) {
        fail(where, "expected one of for_each, never, at_most, at_least");
    }
    if ((x.kind == Expectation::Kind::never) == spec.contains("request")) {
        fail(where, x.kind == Expectation::Kind::never ? "never takes the request itself"
                                                       : "expected a request to look for");
    }
    if (x.within_s && x.kind != Expectation::Kind::for_each) {
        fail(where + ".within_s", "only for_each takes within_s");
    }
    if (x.per_s && x.kind != Expectation::Kind::at_most) {
        fail(where + ".per_s", "only at_most takes per_s");
    }
    x.what = what_of(x);
    if (x.name.empty()) {
        x.name = x.what;
    }
    return x;
}

// An item the tape holds: on the stream (at its frame), or only in a recorded backfill (at the
// middle of its gap).
struct TapeItem {
    std::string id;
    std::int64_t at = 0;
    std::string payload;  // JSON text
    bool backfill_only = false;
};

std::vector<TapeItem> tape_items(schema::TapeStore& store, const schema::Session& session,
                                 const Expectation& x) {
    std::map<std::string, TapeItem> by_id;
    for (const auto& label : store.event_streams(session.id, x.event)) {
        schema::ItemScan scan;
        scan.key = x.event;
        scan.stream = label;
        scan.newest_first = false;
        auto cursor = store.items_by_id(session.id, scan);
        schema::ItemRow row;
        while (cursor.next(row)) {
            auto [it, fresh] = by_id.try_emplace(row.object_id);
            if (fresh || row.offset_ns < it->second.at) {
                const auto payload =
                    schema::event_payload(session.transport, store.frame_bytes(row.row));
                it->second = {row.object_id, row.offset_ns, payload.value_or(""), false};
            }
        }
    }
    std::map<std::int64_t, std::int64_t> gap_middle;
    for (const auto& g : store.gaps(session.id)) {
        gap_middle[g.idx] = (g.start_offset_ns + g.end_offset_ns.value_or(g.start_offset_ns)) / 2;
    }
    for (const auto& b : store.backfill(session.id)) {
        const auto listed = schema::listed_items(b.endpoint, b.query);
        if (listed && listed->event == x.event && !by_id.contains(b.object_id)) {
            by_id[b.object_id] = {b.object_id, gap_middle[b.gap_idx], b.body, true};
        }
    }
    std::vector<TapeItem> out;
    for (auto& entry : by_id) {
        TapeItem& item = entry.second;
        const Json payload = Json::parse(item.payload, nullptr, false);
        const bool selected = std::all_of(x.fields.begin(), x.fields.end(), [&](const auto& f) {
            const Json* v = field_of(payload, f.first);
            return v != nullptr && value_text(*v) == f.second;
        });
        if (selected) {
            out.push_back(std::move(item));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const TapeItem& a, const TapeItem& b) { return a.at < b.at; });
    return out;
}

// When the clients could first know of something at tape time `t`: then, if a connection was up;
// else when the next one opened; nullopt if none did. Clients without a connection (REST only)
// know at once.
std::optional<std::int64_t> known_at(const std::vector<ClientView>& clients, std::int64_t t) {
    std::optional<std::int64_t> best;
    bool streaming = false;
    for (const auto& c : clients) {
        for (const auto& conn : c.log.connections()) {
            streaming = true;
            if (conn.how == ConnectionEnd::open || conn.tape_end >= t) {
                const std::int64_t at = std::max(t, conn.tape_start);
                best = best ? std::min(*best, at) : at;
                break;
            }
        }
    }
    return streaming ? best : std::optional<std::int64_t>(t);
}

// "client 1 was away between connections 0 and 1 (backing off: 3 attempts)"
std::string where_clients(const std::vector<ClientView>& clients, std::int64_t t) {
    std::string out;
    for (const auto& c : clients) {
        if (c.log.connections().empty()) {
            continue;
        }
        auto [place, away] = where_on_tape(c.log, t);
        if (away && c.log.connections()[*away].attempts.count() > 1) {
            place +=
                " (backing off: " + std::to_string(c.log.connections()[*away].attempts.count()) +
                " attempts)";
        }
        out += (out.empty() ? "" : "; ") + c.name + " " + place;
    }
    return out.empty() ? "no client was connected" : out;
}

void judge_for_each(const Expectation& x, ExpectationResult& r,
                    const std::vector<JournalEntry>& journal, schema::TapeStore& store,
                    const schema::Session& session, const std::vector<ClientView>& clients) {
    for (const auto& item : tape_items(store, session, x)) {
        ++r.checked;
        const Json payload = Json::parse(item.payload, nullptr, false);
        const auto known = known_at(clients, item.at);
        std::optional<std::int64_t> answered;
        for (const auto& e : journal) {
            if (x.request.matches(call_of(e), &payload)) {
                answered = answered ? std::min(*answered, e.at_ns) : e.at_ns;
            }
        }
        // Without a window, an answer is enough (even one no stream could have prompted).
        if (answered && (!x.within_s || *answered - known.value_or(item.at) <=
                                            static_cast<std::int64_t>(*x.within_s * 1e9))) {
            continue;
        }
        std::string line = x.event + " " + item.id + " at " + at_text(item.at) +
                           (item.backfill_only ? " (only in the recorded backfill)" : "") + ": ";
        if (answered) {
            line += "answered at " + at_text(*answered) + ", " +
                    at_text(*answered - known.value_or(item.at)) + " after it could be known";
        } else {
            line += "no " + x.request.describe(&payload);
        }
        r.unmet.push_back(line + "; " + where_clients(clients, item.at));
    }
}

void judge_counts(const Expectation& x, ExpectationResult& r,
                  const std::vector<JournalEntry>& journal, const std::vector<ClientView>& clients,
                  bool times) {
    std::vector<const JournalEntry*> hits;
    for (const auto& e : journal) {
        ++r.checked;
        if (x.request.matches(call_of(e))) {
            hits.push_back(&e);
        }
    }
    const auto n = static_cast<std::int64_t>(hits.size());
    switch (x.kind) {
        case Expectation::Kind::never:
            for (const auto* e : hits) {
                r.unmet.push_back(
                    e->client + (times ? " at " + at_text(e->at_ns) : std::string()) + ": " +
                    e->method + " " + e->path + " -> " + std::to_string(e->status) +
                    (times ? "; " + where_clients(clients, e->at_ns) : std::string()));
            }
            break;
        case Expectation::Kind::at_least:
            if (n < x.count) {
                r.unmet.push_back(std::to_string(n) + " such requests, of at least " +
                                  std::to_string(x.count));
            }
            break;
        case Expectation::Kind::at_most: {
            std::sort(hits.begin(), hits.end(),
                      [](const auto* a, const auto* b) { return a->at_ns < b->at_ns; });
            const auto span = x.per_s ? static_cast<std::int64_t>(*x.per_s * 1e9) : INT64_MAX;
            for (std::size_t i = 0, j = 0; i < hits.size(); ++i) {
                j = std::max(j, i);
                while (j < hits.size() && hits[j]->at_ns - hits[i]->at_ns < span) {
                    ++j;
                }
                if (static_cast<std::int64_t>(j - i) > x.count) {
                    r.unmet.push_back(std::to_string(j - i) + " such requests between " +
                                      at_text(hits[i]->at_ns) + " and " +
                                      at_text(hits[j - 1]->at_ns) + " (at most " +
                                      std::to_string(x.count) + ")");
                    i = j - 1;  // the next window starts past this one
                }
            }
            break;
        }
        case Expectation::Kind::for_each:
            break;
    }
}

}  // namespace

std::vector<Expectation> parse_expectations(const Json& doc, const std::string& origin) {
    const Json* list = &doc;
    if (doc.is_object() && doc.size() == 1 && doc.contains("expect")) {
        list = &doc["expect"];
    }
    if (!list->is_array()) {
        fail(origin,
             "expected a list of expectations (or {\"expect\": [...]}), found " + json_kind(doc));
    }
    std::vector<Expectation> out;
    for (std::size_t i = 0; i < list->size(); ++i) {
        out.push_back(
            expectation_of((*list)[i], origin + ": expectation " + std::to_string(i + 1)));
    }
    return out;
}

std::vector<ExpectationResult> judge_expectations(const std::vector<Expectation>& expectations,
                                                  const std::vector<JournalEntry>& journal,
                                                  schema::TapeStore& store,
                                                  const schema::Session& session,
                                                  const std::vector<ClientView>& clients,
                                                  bool times) {
    std::vector<ExpectationResult> out;
    for (const auto& x : expectations) {
        ExpectationResult r;
        r.name = x.name;
        r.what = x.what;
        if (x.kind == Expectation::Kind::for_each) {
            judge_for_each(x, r, journal, store, session, clients);
        } else {
            judge_counts(x, r, journal, clients, times);
        }
        r.met = r.unmet.empty();
        out.push_back(std::move(r));
    }
    return out;
}

Json expectations_json(const std::vector<ExpectationResult>& results) {
    Json out = Json::array();
    for (const auto& r : results) {
        out.push_back({{"name", r.name},
                       {"expectation", r.what},
                       {"met", r.met},
                       {"checked", r.checked},
                       {"unmet", r.unmet}});
    }
    return out;
}

std::vector<JunitCase> expectations_junit(const std::vector<ExpectationResult>& results) {
    std::vector<JunitCase> out;
    for (const auto& r : results) {
        JunitCase c{"mastotape.expect", r.name, {}, {}};
        if (!r.met) {
            c.failure = std::to_string(r.unmet.size()) + " unmet: " + r.what;
            for (const auto& line : r.unmet) {
                c.text += line + "\n";
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace mastotape::replay
