#pragma once

// What a session was recorded (or made) with, kept in its row's `settings` as a JSON object:
// {"synth_seed":7,"heartbeat_timeout_ms":75000,"token_in":"header","recorder_lock":"ofd",
// "rotated_from":{"file":"2026-12-06.db","session":1,"seq":81234}}, each member only when known.
// Read leniently: a member missing, of another type or unknown is left out, and text that is not an
// object reads as no settings (a tape of another version says what it says).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schema/mastodon/vocabulary.hpp"

namespace mastotape::schema {

// Where a rotated recording goes on (or came from): the other file, as a path relative to this
// file's folder, that file's session, and a frame seq: the last one before the rotation (in
// `rotated_from`, the previous file's) or the first one after it (in `rotated_to`, the next's).
struct RotationLink {
    std::string file;
    std::int64_t session = 0;
    std::int64_t seq = 0;

    bool operator==(const RotationLink&) const = default;
};

// The link as its settings member holds it: {"file":...,"session":...,"seq":...}.
std::string to_json(const RotationLink& link);
inline constexpr std::string_view kRotatedToSetting = "rotated_to";

struct SessionSettings {
    std::optional<std::uint64_t> synth_seed;           // made by `synth --seed`
    std::optional<std::int64_t> heartbeat_timeout_ms;  // a silence this long ended a connection
    std::optional<TokenIn> token_in;                   // how the recorder sent the token
    bool recorder_lock = false;  // "recorder_lock":"ofd": the recorder holds an OFD lock on it
    // --rotate: the session this one continues, and the one that continues it.
    std::optional<RotationLink> rotated_from;
    std::optional<RotationLink> rotated_to;

    std::string to_json() const;
    static SessionSettings from_json(std::string_view text);

    // The silence that ended a connection: the recorded timeout, else the transport's default.
    std::int64_t heartbeat_timeout_ns(Transport transport) const;

    bool operator==(const SessionSettings&) const = default;
};

}  // namespace mastotape::schema
