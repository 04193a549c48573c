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

TEST_CASE("A rotated session names the files before and after it, and reads them back") {
    SessionSettings s;
    s.heartbeat_timeout_ms = 75000;
    s.rotated_from = RotationLink{"2026-12-06.db", 1, 81234};
    s.rotated_to = RotationLink{"2026-12-07.1.db", 1, 1};
    CHECK(s.to_json() ==
          R"({"heartbeat_timeout_ms":75000,"rotated_from":{"file":"2026-12-06.db","session":1,)"
          R"("seq":81234},"rotated_to":{"file":"2026-12-07.1.db","session":1,"seq":1}})");
    CHECK(SessionSettings::from_json(s.to_json()) == s);
    // A link without its three members is no link.
    CHECK_FALSE(SessionSettings::from_json(R"({"rotated_to":{"file":"x.db","session":1}})")
                    .rotated_to.has_value());
}
