#pragma once

// Which of a session's subscriptions the server rejected (mastodon-streaming.md section 4.3).
// Over WebSocket a stream the server will not serve gets an error frame, `{"error":"Unknown stream
// type","status":400}`, and the connection stays open; the frame names no stream, so each is
// matched to the subscription it most likely answers: one whose shape its message describes (a
// stream the server does not know, a hashtag or list without its parameter), else the first not
// yet answered, in the order they were sent. Each connection subscribes anew.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/tape/model.hpp"

namespace mastotape::record {

class Rejections {
   public:
    explicit Rejections(std::vector<schema::Subscription> subscriptions);

    // A connection came up: its subscriptions are unanswered again.
    void connection_up();
    // An error frame (its bytes) arrived: the subscription it rejects and the server's message;
    // nullopt when every subscription was already answered or the frame is not an error object.
    struct Rejected {
        schema::Subscription subscription;
        std::string message;
    };
    std::optional<Rejected> on_error_frame(std::string_view bytes);
    // Every subscription of the current connection was rejected.
    bool all_rejected() const;

   private:
    std::vector<schema::Subscription> subscriptions_;
    std::vector<bool> rejected_;  // on the current connection, by subscription
};

}  // namespace mastotape::record
