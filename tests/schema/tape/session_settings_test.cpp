#include "schema/tape/session_settings.hpp"

#include <catch2/catch.hpp>

using namespace mastotape::schema;

TEST_CASE("A session's settings are written as the recorder and synth always wrote them") {
    SessionSettings recorded;
    recorded.heartbeat_timeout_ms = 75000;
    recorded.token_in = TokenIn::header;
    CHECK(recorded.to_json() == R"({"heartbeat_timeout_ms":75000,"token_in":"header"})");
    SessionSettings made;
    made.synth_seed = 7;
    made.heartbeat_timeout_ms = 40000;
    CHECK(made.to_json() == R"({"synth_seed":7,"heartbeat_timeout_ms":40000})");
    CHECK(SessionSettings{}.to_json() == "{}");
    for (const auto& s : {recorded, made}) {
        CHECK(SessionSettings::from_json(s.to_json()) == s);
    }
    // What tape_store's json_set adds once the lock is seen.
    const auto locked =
        SessionSettings::from_json(R"({"heartbeat_timeout_ms":75000,"recorder_lock":"ofd"})");
    CHECK(locked.recorder_lock);
    CHECK(locked.heartbeat_timeout_ms == 75000);
}

TEST_CASE("Settings read leniently: what is missing, mistyped or unknown is left out") {
    for (const char* text : {"", "[]", "not json", "{\"heartbeat_timeout_ms\":\"75\"}",
                             "{\"token_in\":\"smoke-signal\",\"synth_seed\":-1}",
                             "{\"recorder_lock\":\"flock\",\"new_in_v9\":true}"}) {
        INFO(text);
        CHECK(SessionSettings::from_json(text) == SessionSettings{});
    }
    // No timeout recorded: the transport's default (75 s, 40 s).
    CHECK(SessionSettings{}.heartbeat_timeout_ns(Transport::websocket) == 75'000'000'000);
    CHECK(SessionSettings{}.heartbeat_timeout_ns(Transport::sse) == 40'000'000'000);
    CHECK(SessionSettings::from_json(R"({"heartbeat_timeout_ms":5000})")
              .heartbeat_timeout_ns(Transport::sse) == 5'000'000'000);
}
