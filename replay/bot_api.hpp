#pragma once

// The REST a bot calls besides the timelines, answered as Mastodon answers it: who the token is
// (verify_credentials), the statuses and accounts on the tape, and the bot's own writes (a post or
// a reply, a favourite, a reblog, a follow, a delete, an upload), which the replay keeps for its
// length so that the bot can read them back. Ids come from one sequence that starts after the
// tape's last second, and times are the replay clock's, so a replay answers the same each time.
// The tape does not know the account it was recorded as: verify_credentials answers a stand-in
// (`mastotape_bot`, id kBotAccountId). Runs on the replayer's REST thread; no Beast here.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "replay/http_call.hpp"
#include "replay/rest_timelines.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

inline constexpr const char* kBotAccountId = "1";

class BotApi {
   public:
    // `store` must outlive this object.
    BotApi(schema::TapeStore& store, const schema::Session& session);

    // nullopt when the path is none of the routes above.
    std::optional<RestResponse> handle(const HttpCall& c);

   private:
    using Json = nlohmann::ordered_json;

    std::optional<RestResponse> status_route(const HttpCall& c, const std::string& id,
                                             const std::string& action);
    std::optional<RestResponse> account_route(const HttpCall& c, const std::string& id,
                                              const std::string& action);
    RestResponse post_status(const HttpCall& c);
    Json own_status(const std::string& id, std::int64_t tape_now) const;
    RestResponse upload(const HttpCall& c);

    // A status by id: one the bot made, or one on the tape (a streamed status, or the status of a
    // notification).
    std::optional<Json> status(const std::string& id);
    std::optional<Json> account(const std::string& id);
    void index_notifications();
    std::string next_id();
    std::string created_at(std::int64_t tape_now) const;
    Json bot_account() const;

    schema::TapeStore& store_;
    const schema::Session& session_;
    std::string base_;  // the last call's
    std::int64_t next_id_ = 0;
    std::map<std::string, Json> made_;            // the bot's statuses, by id
    std::map<std::string, std::string> by_key_;   // Idempotency-Key -> status id
    std::map<std::string, Json> favourited_;      // tape statuses the bot favourited
    std::map<std::string, Json> media_;           // the bot's uploads, by id
    std::map<std::string, Json> noted_statuses_;  // statuses inside the tape's notifications
    std::map<std::string, Json> noted_accounts_;  // accounts on the tape
    bool notifications_indexed_ = false;
};

}  // namespace mastotape::replay
