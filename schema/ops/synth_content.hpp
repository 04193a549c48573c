#pragma once

// What synth's events say: eight accounts on several instances, statuses with mentions, tags and
// non-ASCII text, notifications, conversations and announcements, as Mastodon renders them (JSON
// built by hand: synth writes a million events in seconds). It draws from the caller's random
// source, so a seed gives the same session. Private to schema/ops/synth.cpp.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "schema/ops/synth.hpp"

namespace mastotape::schema {

// A uniform number in [0, 1), and one in [0, n), from `rng`.
inline double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
inline std::int64_t pick(std::mt19937_64& rng, std::int64_t n) {
    return static_cast<std::int64_t>(uniform(rng) * static_cast<double>(n));
}
// The wall-clock time of tape offset `offset` in a session synth makes.
inline std::int64_t wall(const SynthOptions& o, std::int64_t offset) {
    return o.start_wall_ns + offset;
}

class SynthContent {
   public:
    // An event drawn for a stream: its name, payload, object id, and where a backfill would find
    // it.
    struct Drawn {
        std::string event;
        std::string payload;
        std::string endpoint;  // REST endpoint a backfill would find it at; empty if none
        std::string filter;    // that endpoint's query flags: local=true, only_media=true, ...
        std::string id;

        std::string timeline() const { return endpoint + "?" + filter; }
    };

    // `o` and `rng` must outlive the object.
    SynthContent(const SynthOptions& o, std::mt19937_64& rng);

    // Draws an event for `sub` at `offset` (`entity_only`: one a backfill can recover: a status,
    // notification or conversation, which nothing deletes or edits later).
    Drawn draw_event(const Subscription& sub, std::int64_t offset, bool entity_only);
    std::string uuid();

   private:
    struct Account {
        std::string id;
        std::string username;
        std::string acct;
        std::string display_name;
        std::string domain;
        std::string json;  // rendered once
    };

    void make_accounts();
    std::string choose_event(const Subscription& sub, bool entity_only);
    std::string status_id(std::int64_t offset);
    std::string status_json(const std::string& id, std::int64_t offset, const Subscription& sub,
                            bool edited);
    std::string notification_json(std::int64_t offset);
    std::string conversation_json(std::int64_t offset);
    std::string announcement_json(std::int64_t offset);

    const SynthOptions& o_;
    std::mt19937_64& rng_;
    std::vector<Account> accounts_;
    std::int64_t notification_id_ = 34'975'861;
    std::int64_t conversation_id_ = 418'450;
    std::int64_t announcement_id_ = 0;
    std::uint16_t id_counter_ = 0;
    std::vector<std::string> recent_statuses_;
};

}  // namespace mastotape::schema
