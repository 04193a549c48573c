#include "replay/report/request_journal.hpp"

#include <cstdio>
#include <utility>

#include "schema/mastodon/token_redaction.hpp"
#include "schema/mastodon/url.hpp"

namespace mastotape::replay {

void RequestJournal::add(JournalEntry e, const std::string& token) {
    if (entries_.size() >= max_entries_) {
        ++dropped_;
        return;
    }
    e.query = schema::without_access_token(e.query);
    if (!token.empty()) {
        e.query = schema::redact(e.query, token);
        e.body = schema::redact(e.body, token);
    }
    entries_.push_back(std::move(e));
}

nlohmann::ordered_json RequestJournal::list(bool times) const {
    using Json = nlohmann::ordered_json;
    auto list = Json::array();
    for (const auto& e : entries_) {
        Json j{{"client", e.client}};
        if (times) {
            j["at_s"] = static_cast<double>(e.at_ns) / 1e9;
            j["position_s"] =
                e.position_ns ? Json(static_cast<double>(*e.position_ns) / 1e9) : Json(nullptr);
        }
        j["method"] = e.method;
        j["path"] = e.path;
        j["query"] = e.query;
        j["body"] = e.body;
        j["status"] = e.status;
        j["matched"] = e.matched;
        j["stub"] = e.stub.empty() ? Json(nullptr) : Json(e.stub);
        list.push_back(std::move(j));
    }
    return list;
}

std::string RequestJournal::json() const {
    return nlohmann::ordered_json{{"requests", list()}, {"dropped", dropped_}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RequestJournal::lines(bool times) const {
    std::string out;
    for (const auto& e : entries_) {
        char at[64] = ": ";
        if (times) {
            std::snprintf(at, sizeof at, " at %.3f s: ", static_cast<double>(e.at_ns) / 1e9);
        }
        out += e.client + at + e.method + " " + e.path + (e.query.empty() ? "" : "?" + e.query) +
               " -> " + std::to_string(e.status) +
               (e.stub.empty() ? (e.matched ? "" : " (unmatched)") : " (" + e.stub + ")") + "\n";
    }
    return out;
}

}  // namespace mastotape::replay
