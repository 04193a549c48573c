#pragma once

// The REST endpoints a client backfills from after a reconnect, answered from the tape: home,
// public, tag, list, notifications and conversations, holding the items whose time has passed on
// the replay clock (streamed or backfilled in the recording), deletes and edits applied, with
// Mastodon's max_id/since_id/min_id/limit rules and Link headers (mastodon-streaming.md section
// 10). Bodies are the entities' recorded bytes. No Beast here.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

struct RestResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string event;             // what brings the page's items: update, notification...
    std::vector<std::string> ids;  // the page's items, in order
    std::int64_t limit = 0;        // the most a page holds, as asked
};

// `store` must outlive this object; it is used from the caller's thread only.
class RestTimelines {
   public:
    RestTimelines(schema::TapeStore& store, const schema::Session& session);

    // nullopt when `path` is not one of the endpoints. `tape_now` is the replay clock's offset;
    // `base` is http://host:port for Link headers.
    std::optional<RestResponse> handle(std::string_view path, std::string_view query,
                                       std::int64_t tape_now, const std::string& base);

   private:
    schema::TapeStore& store_;
    const schema::Session& session_;
};

}  // namespace mastotape::replay
