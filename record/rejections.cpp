#include "record/rejections.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "schema/mastodon/streams.hpp"

namespace mastotape::record {
namespace {

// Whether `message` describes what is wrong with `s` (the server's texts, section 4.3).
bool describes(std::string_view message, const schema::Subscription& s) {
    const schema::StreamInfo* info = schema::find_stream(s.stream);
    if (message == "Unknown stream type") {
        return info == nullptr;
    }
    if (message == "Missing tag name parameter") {
        return info != nullptr && info->param == schema::StreamParam::tag && s.param.empty();
    }
    if (message == "Missing list name parameter" ||
        message == "Not authorized to stream this list") {
        return info != nullptr && info->param == schema::StreamParam::list;
    }
    return false;
}

}  // namespace

Rejections::Rejections(std::vector<schema::Subscription> subscriptions)
    : subscriptions_(std::move(subscriptions)), rejected_(subscriptions_.size(), false) {}

void Rejections::connection_up() { std::fill(rejected_.begin(), rejected_.end(), false); }

std::optional<Rejections::Rejected> Rejections::on_error_frame(std::string_view bytes) {
    const auto json = nlohmann::json::parse(bytes, nullptr, false);
    if (!json.is_object() || !json.contains("error") || !json["error"].is_string()) {
        return std::nullopt;
    }
    const std::string message = json["error"].get<std::string>();
    std::optional<std::size_t> match;
    for (std::size_t i = 0; i < subscriptions_.size() && !match; ++i) {
        if (!rejected_[i] && describes(message, subscriptions_[i])) {
            match = i;
        }
    }
    for (std::size_t i = 0; i < subscriptions_.size() && !match; ++i) {
        if (!rejected_[i]) {
            match = i;
        }
    }
    if (!match) {
        return std::nullopt;
    }
    rejected_[*match] = true;
    return Rejected{subscriptions_[*match], message};
}

bool Rejections::all_rejected() const {
    return !rejected_.empty() &&
           std::all_of(rejected_.begin(), rejected_.end(), [](bool r) { return r; });
}

}  // namespace mastotape::record
