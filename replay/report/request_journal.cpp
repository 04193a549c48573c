#include "replay/report/request_journal.hpp"

#include <nlohmann/json.hpp>
#include <utility>

#include "schema/mastodon/token_redaction.hpp"
#include "schema/mastodon/url.hpp"

namespace mastotape::replay {

void RequestJournal::add(JournalEntry e, const std::string& token) {
    e.query = schema::without_access_token(e.query);
    if (!token.empty()) {
        e.query = schema::redact(e.query, token);
        e.body = schema::redact(e.body, token);
    }
    entries_.push_back(std::move(e));
}

std::string RequestJournal::json() const {
    auto list = nlohmann::ordered_json::array();
    for (const auto& e : entries_) {
        list.push_back(
            {{"client", e.client},
             {"at_s", static_cast<double>(e.at_ns) / 1e9},
             {"position_s", e.position_ns
                                ? nlohmann::ordered_json(static_cast<double>(*e.position_ns) / 1e9)
                                : nlohmann::ordered_json(nullptr)},
             {"method", e.method},
             {"path", e.path},
             {"query", e.query},
             {"body", e.body},
             {"status", e.status},
             {"matched", e.matched}});
    }
    return nlohmann::ordered_json{{"requests", list}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mastotape::replay
