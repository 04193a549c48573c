// Who may drive the control API (issue 36, items 1 and 2): the rules, then the server keeping them
// on the wire: no action on GET or OPTIONS, none for another web page or another Host, no CORS
// headers, and the required token from anywhere.

#include "replay/control_access.hpp"

#include <catch2/catch.hpp>

#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;
using replay::control_refusal;
using replay::ControlRequest;

namespace {

ControlRequest local(std::string_view method) { return {method, true, "127.0.0.1:4000", "", ""}; }

int refusal_status(const ControlRequest& r, std::string_view path, std::string_view query = "",
                   std::string_view token = "") {
    const auto refusal = control_refusal(r, path, query, token);
    return refusal ? refusal->status : 0;
}

}  // namespace

TEST_CASE("The control API reads on GET and acts on POST only") {
    CHECK(replay::control_acts("/_mastotape/faults", "add=refuse%3D2"));
    CHECK(replay::control_acts("/_mastotape/faults", "clear=1"));
    CHECK_FALSE(replay::control_acts("/_mastotape/faults", ""));
    for (const char* path : {"/_mastotape/pause", "/_mastotape/resume", "/_mastotape/reset",
                             "/_mastotape/clock/advance", "/_mastotape/clock/run-to"}) {
        INFO(path);
        CHECK(replay::control_acts(path, ""));
        CHECK(refusal_status(local("GET"), path) == 405);
        CHECK(refusal_status(local("OPTIONS"), path) == 405);
        CHECK(refusal_status(local("POST"), path) == 0);
        CHECK(control_refusal(local("GET"), path, "", "")->allow == "POST");
    }
    for (const char* path : {"/_mastotape/", "/_mastotape/status", "/_mastotape/report"}) {
        INFO(path);
        CHECK(refusal_status(local("GET"), path) == 0);
        CHECK(refusal_status(local("HEAD"), path) == 0);
        CHECK(refusal_status(local("POST"), path) == 405);
        CHECK(refusal_status(local("OPTIONS"), path) == 405);
    }
}

TEST_CASE("The control API answers this machine's user, or the required token from anywhere") {
    const std::string_view pause = "/_mastotape/pause";
    ControlRequest remote{"POST", false, "192.0.2.7:4000", "", ""};
    CHECK(refusal_status(remote, pause) == 403);
    CHECK(refusal_status(remote, pause, "", "s3cret") == 403);
    remote.authorization = "Bearer s3cre";
    CHECK(refusal_status(remote, pause, "", "s3cret") == 403);
    remote.authorization = "Bearer s3cret";
    CHECK(refusal_status(remote, pause, "", "s3cret") == 0);
    CHECK(refusal_status(remote, pause, "", "") == 403);  // no token set: nobody else
    // A token does not turn a GET into an action.
    remote.method = "GET";
    CHECK(refusal_status(remote, pause, "", "s3cret") == 405);

    SECTION("DNS rebinding: a loopback peer asking for another host's name") {
        ControlRequest r = local("POST");
        r.host = "evil.example:4000";
        const auto refusal = control_refusal(r, pause, "", "");
        REQUIRE(refusal);
        CHECK(refusal->status == 403);
        CHECK_THAT(refusal->body, Catch::Contains("Host"));
        for (const char* host :
             {"localhost:4000", "127.0.0.1", "127.8.9.1:80", "[::1]:4000", "localhost"}) {
            r.host = host;
            INFO(host);
            CHECK(refusal_status(r, pause) == 0);
        }
        for (const char* host :
             {"", "localhost.evil.example", "128.0.0.1", "[::2]:4000", "127.0.0.1.evil.example"}) {
            r.host = host;
            INFO(host);
            CHECK(refusal_status(r, pause) == 403);
        }
    }
    SECTION("Another web page: an Origin other than the server's own") {
        ControlRequest r = local("POST");
        r.origin = "http://evil.example";
        CHECK(refusal_status(r, pause) == 403);
        r.origin = "null";
        CHECK(refusal_status(r, pause) == 403);
        r.origin = "http://127.0.0.1:4001";
        CHECK(refusal_status(r, pause) == 403);
        r.origin = "http://127.0.0.1:4000";  // the dashboard itself
        CHECK(refusal_status(r, pause) == 0);
    }
}

TEST_CASE("On the wire the control API acts on a local POST only and sends no CORS headers") {
    TempDir dir;
    replay::ReplayOptions o = five_event_tape(dir);
    o.require_token = "s3cret";
    RunningReplay replay(o);
    const auto port = replay.port();
    const auto refusals = [&] {
        return get_json(port, "/_mastotape/faults").at("refuse_remaining").get<int>();
    };
    REQUIRE(refusals() == 0);

    // Before: each of these added refusals, and every answer said Access-Control-Allow-Origin: *.
    const std::string add = "/_mastotape/faults?add=refuse%3D3";
    for (const auto& wire :
         {http_get(port, add),
          raw_http(port, "OPTIONS " + add +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                             "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"),
          http_post(port, add, "Origin: http://evil.example\r\n"),
          raw_http(port, "POST " + add +
                             " HTTP/1.1\r\nHost: rebound.example:80\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n")}) {
        INFO(wire);
        CHECK_THAT(wire, Catch::Matches("HTTP/1.1 40[35] [^]*"));
        CHECK_THAT(wire, !Catch::Contains("Access-Control"));
    }
    CHECK(refusals() == 0);
    CHECK_THAT(http_get(port, add), Catch::Contains("\r\nAllow: POST\r\n"));

    const auto ok = http_post(port, add);
    CHECK_THAT(ok, Catch::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(ok, !Catch::Contains("Access-Control"));
    CHECK(refusals() == 3);
    // The required token opens it from any Host, but only with POST for an action.
    CHECK_THAT(raw_http(port,
                        "POST /_mastotape/faults?clear=1 HTTP/1.1\r\nHost: replay.test\r\n"
                        "Authorization: Bearer s3cret\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n"),
               Catch::StartsWith("HTTP/1.1 200"));
    CHECK(refusals() == 0);
    const auto head = raw_http(port,
                               "HEAD /_mastotape/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Connection: close\r\n\r\n");
    CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
    CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());
}
