#pragma once

// A synthesized tape of notifications (60 events, 5 a second), and the mentions on it, for the
// tests of what a bot calls and what a test expects of it.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/test_support.hpp"

namespace mastotape::test {

struct MentionTape {
    struct Mention {
        std::string status_id;
        std::string account_id;  // the status's author
        std::int64_t offset_ns = 0;
    };
    TempDir dir;
    schema::TapeStore store{(dir.path() / "t.db").string(), schema::OpenMode::create};
    schema::Session session;
    std::vector<Mention> mentions;  // streamed, in tape order
    std::string status_id;          // the first mention's
    std::string account_id;

    MentionTape() {
        schema::SynthOptions o;
        o.events = 60;
        o.rate = 5;
        o.event_mix = {"notification"};
        const std::int64_t id = schema::synthesize(store, o);
        session = store.session(id);
        auto cursor = store.frames_from_seq(id, 1);
        schema::Frame f;
        while (cursor.next(f)) {
            if (f.columns.event != "notification") {
                continue;
            }
            const auto n =
                nlohmann::json::parse(*schema::event_payload(session.transport, f.bytes));
            if (n["type"] == "mention") {
                mentions.push_back({n["status"]["id"], n["status"]["account"]["id"], f.offset_ns});
            }
        }
        REQUIRE(mentions.size() >= 3);
        status_id = mentions[0].status_id;
        account_id = mentions[0].account_id;
    }
};

}  // namespace mastotape::test
