#include "replay/instance_documents.hpp"

#include <nlohmann/json.hpp>

namespace mastotape::replay {

std::string instance_v1(const std::string& host_port, const std::string& version) {
    const nlohmann::ordered_json doc = {
        {"uri", host_port},
        {"title", "mastotape replay"},
        {"short_description", ""},
        {"description", ""},
        {"email", ""},
        {"version", version},
        {"urls", {{"streaming_api", "ws://" + host_port}}},
        {"stats", {{"user_count", 0}, {"status_count", 0}, {"domain_count", 0}}},
        {"languages", nlohmann::ordered_json::array({"en"})},
        {"registrations", false},
        {"approval_required", false},
        {"invites_enabled", false}};
    return doc.dump();
}

std::string instance_v2(const std::string& host_port, const std::string& version) {
    const nlohmann::ordered_json doc = {
        {"domain", host_port},
        {"title", "mastotape replay"},
        {"version", version},
        {"source_url", ""},
        {"description", ""},
        {"configuration", {{"urls", {{"streaming", "ws://" + host_port}}}}},
        {"languages", nlohmann::ordered_json::array({"en"})}};
    return doc.dump();
}

}  // namespace mastotape::replay
