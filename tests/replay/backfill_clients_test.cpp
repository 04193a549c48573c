// Scripted clients with known reconnect and backfill habits against `replay --report` (issue 18):
// each gets the diagnosis it deserves, with the exact ids it missed and why.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "schema/ops/synth.hpp"
#include "schema/text/json_array.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

using Ids = std::set<std::string>;

// A tape of statuses with one gap (an abrupt end) in which `missed` were published, which only
// the recording's backfill has.
schema::SynthOptions statuses_with_gap(std::int64_t missed) {
    schema::SynthOptions so;
    so.events = 40;
    so.rate = 20;
    so.connection_ends = {"eof"};
    so.missed_per_gap = missed;
    so.failed_attempts = 2;
    so.event_mix = {"update"};
    return so;
}

Ids gap_ids(const std::string& tape) {
    schema::TapeStore store(tape, schema::OpenMode::read);
    Ids out;
    for (const auto& b : store.backfill(1)) {
        if (!b.already_streamed) {
            out.insert(b.object_id);
        }
    }
    return out;
}

Ids missed_ids(const nlohmann::json& client) {
    Ids out;
    for (const auto& m : client["missed"]) {
        out.insert(m["id"].get<std::string>());
    }
    return out;
}

std::string bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

// Reads one connection to its end; returns the newest status id seen, or `newest` if none newer.
std::string stream_to_end(RawWs& ws, std::string newest) {
    while (auto f = ws.next(10)) {
        if (f->opcode != 1) {
            continue;
        }
        const auto envelope = nlohmann::json::parse(f->payload);
        if (envelope["event"] == "update") {
            const auto id = nlohmann::json::parse(envelope["payload"].get<std::string>())["id"];
            if (newest.empty() || schema::compare_ids(id.get<std::string>(), newest) > 0) {
                newest = id.get<std::string>();
            }
        }
    }
    REQUIRE(ws.ended());
    return newest;
}

// A page of a REST timeline: its ids, and its Link rel="prev" target (path?query) if it has one.
struct Page {
    std::vector<std::string> ids;
    std::string prev;
};

Page get_page(std::uint16_t port, const std::string& token, const std::string& target) {
    const auto res = http_get(port, target, bearer(token));
    REQUIRE_THAT(res, Catch::StartsWith("HTTP/1.1 200"));
    Page page;
    for (const auto& status : nlohmann::json::parse(res.substr(res.find("\r\n\r\n") + 4))) {
        page.ids.push_back(status["id"].get<std::string>());
    }
    const auto prev = res.find("; rel=\"prev\"");
    if (prev != std::string::npos) {
        const auto open = res.rfind('<', prev);
        const std::string url = res.substr(open + 1, res.rfind('>', prev) - open - 1);
        page.prev = url.substr(url.find("/api/"));
    }
    return page;
}

// Tries to connect every `delay` seconds (times `growth` after each refusal) until the replayer
// lets it in.
std::unique_ptr<RawWs> reconnect(std::uint16_t port, const std::string& token, double delay,
                                 double growth = 1) {
    for (int attempt = 0; attempt < 500; ++attempt) {
        auto ws = std::make_unique<RawWs>(port, "stream=user", bearer(token));
        if (ws->upgraded()) {
            return ws;
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        delay *= growth;
    }
    FAIL("the replayer never let the client in again");
    return nullptr;
}

const nlohmann::json& client_named(const nlohmann::json& report, const std::string& name) {
    for (const auto& c : report["clients"]) {
        if (c["name"] == name) {
            return c;
        }
    }
    FAIL("no " + name + " in the report");
    return report;
}

// A replay at 4x of a 10 s tape of `mix` with one gap and a client, `token`, that reads the first
// connection to its end and comes back `late_s` seconds of tape after the recorded reconnect:
// the connection it comes back on, and the tape's recorded handshake of that reconnect.
struct LateReturn {
    std::unique_ptr<RunningReplay> replay;
    std::unique_ptr<RawWs> back;
    std::int64_t up = 0;
};

LateReturn come_back_late(const TempDir& dir, replay::ReplayOptions& o,
                          std::vector<std::string> mix, const std::string& token, double late_s) {
    schema::SynthOptions so = statuses_with_gap(3);
    so.events = 200;  // 5 s of stream after the gap
    so.event_mix = std::move(mix);
    o.tape = make_tape(dir, so);
    o.speed = 4;
    o.client_report = true;
    std::int64_t end = 0;
    LateReturn r;
    {
        schema::TapeStore store(o.tape, schema::OpenMode::read);
        const auto conns = store.connections(1);
        end = *conns.front().ended_offset_ns;
        r.up = *conns.back().handshake_offset_ns;
    }
    r.replay = std::make_unique<RunningReplay>(o);
    RawWs first(r.replay->port(), "stream=user", bearer(token));
    while (first.next(10)) {
    }
    std::this_thread::sleep_for(std::chrono::duration<double>((r.up - end) / 4e9 + late_s / 4));
    r.back = reconnect(r.replay->port(), token, 0.02);
    return r;
}

}  // namespace

TEST_CASE("since_id with a gap longer than a page misses the items under the page, by id") {
    TempDir dir;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, statuses_with_gap(30));
    o.speed = 10;
    o.client_report = true;
    const Ids in_gap = gap_ids(o.tape);
    REQUIRE(in_gap.size() == 30);
    RunningReplay replay(o);

    // Client 1 catches up with since_id=<the newest it had>&limit=20 once back: one full page.
    RawWs first(replay.port(), "stream=user", bearer("tok-since"));
    const std::string newest = stream_to_end(first, "");
    auto second = reconnect(replay.port(), "tok-since", 0.05);
    const std::string asked = "/api/v1/timelines/home?since_id=" + newest + "&limit=20";
    const Page page = get_page(replay.port(), "tok-since", asked);
    REQUIRE(page.ids.size() == 20);
    stream_to_end(*second, newest);

    // Client 2 asks min_id=<the newest it had> and follows Link rel="prev" to a short page.
    RawWs again(replay.port(), "stream=user", bearer("tok-min"));
    const std::string had = stream_to_end(again, "");
    auto back = reconnect(replay.port(), "tok-min", 0.05);
    std::string target = "/api/v1/timelines/home?min_id=" + had + "&limit=20";
    int pages = 0;
    for (Page p; ++pages < 10; target = p.prev) {
        p = get_page(replay.port(), "tok-min", target);
        if (p.ids.size() < 20) {
            break;
        }
    }
    CHECK(pages >= 2);
    stream_to_end(*back, had);

    const auto report = get_json(replay.port(), "/_mastotape/report");
    INFO(report.dump(2));
    const auto& since = client_named(report, "client 1");
    Ids expected = in_gap;
    for (const auto& id : page.ids) {
        expected.erase(id);
    }
    CHECK(expected.size() >= 10);  // the gap's 30, less the 19 or 20 of them the page held
    CHECK(missed_ids(since) == expected);
    for (const auto& id : expected) {
        CHECK(schema::compare_ids(id, newest) > 0);
        CHECK(schema::compare_ids(id, page.ids.back()) < 0);  // under the page
    }
    REQUIRE(since["findings"].size() == 1);
    for (const auto& m : since["missed"]) {
        CHECK(m["why"] == "since_id page full");
        CHECK(m["finding"] == 1);
    }
    const auto& finding = since["findings"][0];
    CHECK(finding["reason"] == "since_id page full");
    CHECK(finding["items"] == expected.size());
    CHECK(finding["request"] == 1);
    CHECK(finding["advice"].get<std::string>() ==
          "the client asked `" + asked + "` and got a full page of 20; " +
              std::to_string(expected.size()) + " items newer than " + newest +
              " but older than the page were never asked for: use min_id and follow Link " +
              "rel=\"prev\" until a page comes back short");
    CHECK_THAT(since["verdict"].get<std::string>(),
               Catch::Contains("; missed " + std::to_string(expected.size()) +
                               " (away 0-1: since_id page full)"));
    REQUIRE(since["rest_requests"].size() == 1);
    CHECK(since["rest_requests"][0]["full"] == true);
    CHECK(since["rest_requests"][0]["stream"] == "up");
    CHECK(since["rest_requests"][0]["to_the_end"] == false);

    const auto& min = client_named(report, "client 2");
    CHECK(min["missed"].empty());
    CHECK(min["items"]["over_rest"].get<int>() >= 29);
    const auto& requests = min["rest_requests"];
    REQUIRE(requests.size() == static_cast<std::size_t>(pages));
    CHECK(requests[0]["to_the_end"] == true);
    CHECK(requests[0]["link_followed"] == "prev");
    CHECK(requests[1]["follows"]["request"] == 1);
    CHECK(requests[1]["follows"]["rel"] == "prev");
}

TEST_CASE("A catch-up before the stream is back misses the gap, and each client's retry pattern") {
    TempDir dir;
    replay::ReplayOptions o;
    o.tape = make_tape(dir, statuses_with_gap(3));
    o.speed =
        2;  // the gap's recorded failures: about 0.75 to 1.5 s, the reconnect 0.5 to 1 s later
    o.client_report = true;
    const Ids in_gap = gap_ids(o.tape);
    RunningReplay replay(o);

    // Client 1 catches up at once, while away, then tries again every 0.3 s.
    RawWs early(replay.port(), "stream=user", bearer("tok-early"));
    const std::string newest = stream_to_end(early, "");
    get_page(replay.port(), "tok-early", "/api/v1/timelines/home?since_id=" + newest);
    auto back = reconnect(replay.port(), "tok-early", 0.3);
    stream_to_end(*back, newest);
    // Client 2 hammers (every 20 ms); client 3 backs off from 0.1 s, doubling.
    for (const auto& [token, delay, growth] :
         {std::tuple{"tok-hammer", 0.02, 1.0}, std::tuple{"tok-backoff", 0.1, 2.0}}) {
        RawWs ws(replay.port(), "stream=user", bearer(token));
        stream_to_end(ws, "");
        auto again = reconnect(replay.port(), token, delay, growth);
        stream_to_end(*again, "");
    }

    const auto report = get_json(replay.port(), "/_mastotape/report");
    INFO(report.dump(2));
    const auto& early_client = client_named(report, "client 1");
    CHECK(missed_ids(early_client) == in_gap);
    REQUIRE(early_client["findings"].size() == 1);
    CHECK(early_client["findings"][0]["reason"] == "caught up before the stream was back");
    CHECK_THAT(early_client["findings"][0]["advice"].get<std::string>(),
               Catch::Contains("while away, before connection 2 began; 3 items came between"));
    CHECK(early_client["rest_requests"][0]["stream"] == "away");
    const auto& reconnected = early_client["connections"][1];
    CHECK(reconnected["refused_before"].get<int>() >= 2);
    CHECK_THAT(reconnected["attempts"]["pattern"].get<std::string>(),
               Catch::StartsWith("kept a delay of about 0.3"));

    const auto& hammer = client_named(report, "client 2");
    CHECK(hammer["connections"][1]["refused_before"].get<int>() >= 20);
    CHECK_THAT(hammer["verdict"].get<std::string>(),
               Catch::Contains("; before connection 2 it hammered: "));
    const auto& backoff = client_named(report, "client 3");
    CHECK(backoff["connections"][1]["attempts"]["delays_grew"].get<int>() >= 2);
    CHECK_THAT(backoff["verdict"].get<std::string>(),
               Catch::Contains("; before connection 2 it backed off: delays grew from 0.1"));
    for (const auto* c : {&hammer, &backoff}) {
        CHECK((*c)["findings"][0]["reason"] == "never asked over REST");
    }
}

TEST_CASE("A client back later than the recording was loses what the stream carried meanwhile") {
    // Against a real server a client that reconnects 2 s after the recorder did never sees what
    // was streamed in those 2 s: only REST has it. The replayer used to start the next recorded
    // connection whenever the client came back, so the late client lost nothing.
    TempDir dir;
    replay::ReplayOptions o;
    LateReturn r = come_back_late(dir, o, {"update"}, "tok-late", 2);
    std::vector<std::string> second;  // the ids connection 2 carried, in order
    for (const auto& f : tape_frames(o.tape)) {
        if (f.columns.event == "update" && f.connection_idx != 0) {
            second.push_back(*f.columns.object_id);
        }
    }
    auto& late = r.back;
    const std::int64_t up = r.up;
    auto& replay = *r.replay;
    std::vector<std::string> got;
    while (auto f = late->next(10)) {
        if (f->opcode == 1 && f->payload.find("\"event\":\"update\"") != std::string::npos) {
            got.push_back(nlohmann::json::parse(
                nlohmann::json::parse(f->payload)["payload"].get<std::string>())["id"]);
        }
    }
    REQUIRE(got.size() < second.size());
    // What it got is the end of what the connection carried; what it lost, the beginning.
    const std::size_t lost_n = second.size() - got.size();
    CHECK(std::equal(got.begin(), got.end(), second.begin() + static_cast<std::ptrdiff_t>(lost_n)));
    const Ids lost(second.begin(), second.begin() + static_cast<std::ptrdiff_t>(lost_n));
    CHECK(lost.size() >= 20);  // 2 s at 20 events a second, less the backfill's fetch

    const auto report = get_json(replay.port(), "/_mastotape/report");
    INFO(report.dump(2));
    const auto& c = client_named(report, "client 1");
    Ids missed_while_connected_away;
    for (const auto& m : c["missed"]) {
        if (m["offset_ns"].get<std::int64_t>() >= up) {
            CHECK(m["where"] == "while away between connections 0 and 1");
            missed_while_connected_away.insert(m["id"].get<std::string>());
        }
    }
    CHECK(missed_while_connected_away == lost);  // exactly the stream items it lost
    Ids all_missed = missed_ids(c);
    for (const auto& id : gap_ids(o.tape)) {
        CHECK(all_missed.count(id) == 1);  // and the gap's, which only REST had
    }
}

TEST_CASE("Announcements missed while away are sent to /api/v1/announcements, not a timeline") {
    // Before: announcement.delete was filed under "fetch the home timeline".
    TempDir dir;
    replay::ReplayOptions o;
    LateReturn r = come_back_late(
        dir, o, {"update", "announcement", "announcement.reaction", "announcement.delete"},
        "tok-ann", 3);
    while (r.back->next(10)) {
    }
    auto& replay = *r.replay;
    const auto report = get_json(replay.port(), "/_mastotape/report");
    INFO(report.dump(2));
    const auto& c = client_named(report, "client 1");
    int announcements = 0;
    for (const auto& m : c["missed"]) {
        if (m["event"].get<std::string>().rfind("announcement", 0) == 0) {
            ++announcements;
            CHECK(m["why"] == "announcements are in no timeline");
        }
    }
    CHECK(announcements > 0);
    bool advised = false;
    for (const auto& f : c["findings"]) {
        if (f["reason"] == "announcements are in no timeline") {
            advised = true;
            CHECK_THAT(f["advice"].get<std::string>(), Catch::Contains("/api/v1/announcements"));
        } else {
            CHECK_THAT(f["advice"].get<std::string>(), !Catch::Contains("announcement"));
        }
    }
    CHECK(advised);
}
