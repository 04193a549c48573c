#include "schema/tape/session_settings.hpp"

#include <nlohmann/json.hpp>

#include "schema/mastodon/heartbeats.hpp"
#include "schema/tape/recorder_lock.hpp"

namespace mastotape::schema {

namespace {

constexpr std::string_view kOfd = "ofd";
constexpr std::string_view kRotatedFrom = "rotated_from";

nlohmann::ordered_json link_json(const RotationLink& l) {
    return {{"file", l.file}, {"session", l.session}, {"seq", l.seq}};
}

std::optional<RotationLink> link_of(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("file") || !j["file"].is_string() || !j.contains("session") ||
        !j["session"].is_number_integer() || !j.contains("seq") || !j["seq"].is_number_integer()) {
        return std::nullopt;
    }
    return RotationLink{j["file"].get<std::string>(), j["session"].get<std::int64_t>(),
                        j["seq"].get<std::int64_t>()};
}

}  // namespace

std::string to_json(const RotationLink& link) { return link_json(link).dump(); }

std::string SessionSettings::to_json() const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (synth_seed) {
        j["synth_seed"] = *synth_seed;
    }
    if (heartbeat_timeout_ms) {
        j["heartbeat_timeout_ms"] = *heartbeat_timeout_ms;
    }
    if (token_in) {
        j["token_in"] = to_string(*token_in);
    }
    if (recorder_lock) {
        j[std::string(kRecorderLockSetting)] = kOfd;
    }
    if (rotated_from) {
        j[std::string(kRotatedFrom)] = link_json(*rotated_from);
    }
    if (rotated_to) {
        j[std::string(kRotatedToSetting)] = link_json(*rotated_to);
    }
    return j.dump();
}

SessionSettings SessionSettings::from_json(std::string_view text) {
    SessionSettings s;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) {
        return s;
    }
    const auto member = [&](std::string_view key) -> const nlohmann::json* {
        const auto it = j.find(key);
        return it == j.end() ? nullptr : &*it;
    };
    if (const auto* v = member("synth_seed"); v && v->is_number_unsigned()) {
        s.synth_seed = v->get<std::uint64_t>();
    }
    if (const auto* v = member("heartbeat_timeout_ms"); v && v->is_number_integer()) {
        s.heartbeat_timeout_ms = v->get<std::int64_t>();
    }
    if (const auto* v = member("token_in"); v && v->is_string()) {
        s.token_in = token_in_from_string(v->get<std::string>());
    }
    if (const auto* v = member(kRecorderLockSetting); v && v->is_string()) {
        s.recorder_lock = v->get<std::string>() == kOfd;
    }
    if (const auto* v = member(kRotatedFrom); v) {
        s.rotated_from = link_of(*v);
    }
    if (const auto* v = member(kRotatedToSetting); v) {
        s.rotated_to = link_of(*v);
    }
    return s;
}

std::int64_t SessionSettings::heartbeat_timeout_ns(Transport transport) const {
    return heartbeat_timeout_ms ? *heartbeat_timeout_ms * 1'000'000
                                : default_heartbeat_timeout_ns(transport);
}

}  // namespace mastotape::schema
