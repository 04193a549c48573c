// The REST timelines read their pages from the tape's indexes; these tests hold them to a plain
// model that replays the whole session in time order, over random pages and clocks, on ids of
// mixed lengths (where text order and id order differ).

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "replay/rest_timelines.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/text/json_array.hpp"
#include "tests/test_support.hpp"

namespace mastotape {
namespace {

using test::kMs;

using schema::FrameKind;

struct Arrival {
    std::int64_t at = 0;
    int order = 0;  // at one time a backfilled item (0) comes before a streamed one (1)
    std::string label;
    std::string event;
    std::string id;
    std::string payload;
};

// One timeline as the model sees it: which labels, events and backfilled pages feed it.
struct ModelTimeline {
    std::string path;
    std::string query;
    std::set<std::string> labels;
    std::string event;
    std::string backfill_query;  // the recorded request's flags that mark its backfilled items
};

struct Tape {
    std::vector<Arrival> arrivals;  // frames and backfilled items, in time order
};

// A session on ["user"] and ["public:local"] with statuses, deletes, edits and notifications
// whose ids are 1 to 4 digits long, and a gap whose backfill brings home, local public and
// (a decoy for the local page) plain public items.
Tape make_tape(const std::string& path, std::uint32_t seed) {
    schema::TapeStore store(path, schema::OpenMode::create);
    schema::Session s;
    s.source = "ws://example.social/api/v1/streaming";
    s.subscriptions = {{"user", ""}, {"public:local", ""}};
    s.started_wall_ns = 1'700'000'000'000'000'000;
    s.updated_wall_ns = s.started_wall_ns;
    const std::int64_t session_id = store.create_session(s);

    std::mt19937 rng(seed);
    const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const auto any_id = [&] { return std::to_string(1 + pick(pick(2) ? 9999 : 99)); };
    Tape tape;
    schema::Batch b;
    b.session_id = session_id;
    schema::Connection c;
    c.session_id = session_id;
    c.url = s.source;
    c.handshake_offset_ns = 0;
    c.http_status = 101;
    c.ended_offset_ns = 300 * kMs;
    c.end_cause = schema::EndCause::eof;
    b.records.push_back(c);
    c.idx = 1;
    c.started_offset_ns = 400 * kMs;
    c.handshake_offset_ns = 400 * kMs;
    c.ended_offset_ns.reset();
    c.end_cause = schema::EndCause::none;
    b.records.push_back(c);
    schema::Gap g;
    g.session_id = session_id;
    g.start_offset_ns = 300 * kMs;
    g.end_offset_ns = 400 * kMs;
    g.cause = schema::EndCause::eof;
    b.records.push_back(g);

    std::vector<std::string> created;
    std::int64_t seq = 0;
    for (std::int64_t at = kMs; at < 800 * kMs; at += kMs) {
        if (at >= 300 * kMs && at < 400 * kMs) {
            continue;  // the gap
        }
        Arrival a;
        a.at = at;
        a.order = 1;
        a.label = pick(2) ? R"(["user"])" : R"(["public:local"])";
        const int roll = pick(10);
        a.event = roll < 6   ? "update"
                  : roll < 7 ? "delete"
                  : roll < 8 ? "status.update"
                             : "notification";
        a.id = (a.event == "delete" || a.event == "status.update") && !created.empty() && pick(4)
                   ? created[static_cast<std::size_t>(pick(static_cast<int>(created.size())))]
                   : any_id();
        if (a.event == "update") {
            created.push_back(a.id);
        }
        a.payload = a.event == "delete"
                        ? a.id
                        : R"({"id":")" + a.id + R"(","at":)" + std::to_string(at / kMs) + "}";
        std::string bytes = R"({"stream":)" + a.label + R"(,"event":")" + a.event +
                            R"(","payload":)" + nlohmann::json(a.payload).dump() + "}";
        schema::Frame f;
        f.session_id = session_id;
        f.seq = ++seq;
        f.connection_idx = at < 300 * kMs ? 0 : 1;
        f.offset_ns = at;
        f.bytes = bytes;
        f.columns.kind = FrameKind::event;
        f.columns.stream = a.label;
        f.columns.event = a.event;
        f.columns.object_id = a.id;
        b.records.push_back(f);
        tape.arrivals.push_back(a);
    }
    std::int64_t bseq = 0;
    for (const auto& [endpoint, query] : std::vector<std::pair<std::string, std::string>>{
             {"/api/v1/timelines/home", "limit=40"},
             {"/api/v1/timelines/public", "local=true&min_id=5&limit=40"},
             {"/api/v1/timelines/public", "limit=40"},
             {"/api/v1/notifications", "limit=40"}}) {
        for (int i = 0; i < 15; ++i) {
            schema::BackfillItem item;
            item.session_id = session_id;
            item.seq = ++bseq;
            item.offset_ns = 400 * kMs + 20 * kMs + bseq * kMs;  // fetched after the gap's end
            item.endpoint = endpoint;
            item.query = query;
            item.object_id = any_id();
            item.body =
                R"({"id":")" + item.object_id + R"(","backfilled":)" + std::to_string(bseq) + "}";
            b.records.push_back(item);
            Arrival a;
            a.at = 400 * kMs;  // visible from the gap's end
            a.order = 0;
            a.label = endpoint + "?" + query;
            a.event = "backfill";
            a.id = item.object_id;
            a.payload = item.body;
            tape.arrivals.push_back(a);
        }
    }
    store.append(b);
    std::stable_sort(tape.arrivals.begin(), tape.arrivals.end(), [](const auto& x, const auto& y) {
        return std::tie(x.at, x.order) < std::tie(y.at, y.order);
    });
    return tape;
}

// The page the model gives: the timeline replayed item by item up to `now`, then paged.
std::vector<std::pair<std::string, std::string>> model_page(
    const Tape& tape, const ModelTimeline& t, std::int64_t now,
    const std::optional<std::string>& max_id, const std::optional<std::string>& since_id,
    const std::optional<std::string>& min_id, std::size_t limit) {
    const auto id_less = [](const std::string& a, const std::string& b) {
        return schema::compare_ids(a, b) < 0;
    };
    std::map<std::string, std::string, decltype(id_less)> items(id_less);
    for (const auto& a : tape.arrivals) {
        if (a.at > now) {
            break;
        }
        if (a.event == "backfill") {
            if (a.label == t.path + "?" + t.backfill_query) {
                items[a.id] = a.payload;
            }
            continue;
        }
        if (!t.labels.count(a.label)) {
            continue;
        }
        if (a.event == t.event) {
            items[a.id] = a.payload;
        } else if (t.event == "update" && a.event == "delete") {
            items.erase(a.id);
        } else if (t.event == "update" && a.event == "status.update") {
            if (auto it = items.find(a.id); it != items.end()) {
                it->second = a.payload;
            }
        }
    }
    const auto in_range = [&](const std::string& id) {
        return (!max_id || id_less(id, *max_id)) && (!since_id || id_less(*since_id, id)) &&
               (!min_id || id_less(*min_id, id));
    };
    std::vector<std::pair<std::string, std::string>> page;
    if (min_id) {
        for (const auto& item : items) {
            if (page.size() < limit && in_range(item.first)) {
                page.push_back(item);
            }
        }
        std::reverse(page.begin(), page.end());
    } else {
        for (auto it = items.rbegin(); it != items.rend() && page.size() < limit; ++it) {
            if (in_range(it->first)) {
                page.push_back(*it);
            }
        }
    }
    return page;
}

TEST_CASE(
    "A REST page read from the indexes equals the session replayed in time order, for random "
    "clocks, bounds and limits on ids of mixed lengths") {
    test::TempDir dir;
    const std::string path = dir.file("tape.db");
    const Tape tape = make_tape(path, 7);
    schema::TapeStore store(path, schema::OpenMode::read);
    const auto session = store.session(1);
    replay::RestTimelines rest(store, session);

    const std::vector<ModelTimeline> timelines = {
        {"/api/v1/timelines/home", "", {R"(["user"])"}, "update", "limit=40"},
        {"/api/v1/timelines/public",
         "local=true&",
         {R"(["public:local"])"},
         "update",
         "local=true&min_id=5&limit=40"},
        {"/api/v1/timelines/public", "", {}, "update", "limit=40"},
        {"/api/v1/notifications", "", {R"(["user"])"}, "notification", "limit=40"},
    };
    std::mt19937 rng(11);
    const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const auto some_id = [&]() -> std::optional<std::string> {
        if (pick(3) == 0) {
            return std::nullopt;
        }
        return std::to_string(1 + pick(pick(2) ? 9999 : 99));
    };
    int nonempty = 0;
    int bounded = 0;
    for (int i = 0; i < 400; ++i) {
        const auto& t =
            timelines[static_cast<std::size_t>(pick(static_cast<int>(timelines.size())))];
        const std::int64_t now = pick(850) * kMs;
        const auto max_id = some_id();
        const auto since_id = pick(2) ? std::nullopt : some_id();
        const auto min_id = pick(2) ? std::nullopt : some_id();
        const int limit = pick(4) == 0 ? 0 : 1 + pick(50);
        std::string query = t.query;
        if (max_id) {
            query += "max_id=" + *max_id + "&";
        }
        if (since_id) {
            query += "since_id=" + *since_id + "&";
        }
        if (min_id) {
            query += "min_id=" + *min_id + "&";
        }
        const std::size_t default_limit = t.event == "notification" ? 40 : 20;
        if (limit > 0) {
            query += "limit=" + std::to_string(limit);
        }
        const auto expected = model_page(
            tape, t, now, max_id, since_id, min_id,
            limit > 0 ? std::min<std::size_t>(static_cast<std::size_t>(limit), 2 * default_limit)
                      : default_limit);
        INFO(t.path << "?" << query << " at " << now / kMs << " ms");
        const auto res = rest.handle(t.path, query, now, "http://127.0.0.1:1");
        REQUIRE(res);
        std::string body = "[";
        for (std::size_t k = 0; k < expected.size(); ++k) {
            body += (k ? "," : "") + expected[k].second;
        }
        CHECK(res->body == body + "]");
        if (expected.empty()) {
            CHECK(res->headers.empty());
        } else {
            ++nonempty;
            bounded += max_id || min_id || since_id;
            REQUIRE(res->headers.size() == 1);
            CHECK_THAT(res->headers[0].second,
                       Catch::Contains("max_id=" + expected.back().first + ">; rel=\"next\"") &&
                           Catch::Contains("min_id=" + expected.front().first + ">; rel=\"prev\""));
        }
    }
    // The draw reached pages with items, with and without bounds.
    CHECK(nonempty > 150);
    CHECK(bounded > 100);
}

}  // namespace
}  // namespace mastotape
