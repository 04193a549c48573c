#include "record/stream_connection.hpp"

#include "schema/mastodon/streams.hpp"

namespace mastotape::record {

std::string ConnectionSettings::target(schema::Transport transport, bool with_token) const {
    std::string out;
    std::string query;
    if (transport == schema::Transport::sse) {
        out = schema::sse_target(subscriptions.front());
    } else {
        // One stream rides the query; several go as subscribe frames.
        out = url.target;
        if (subscriptions.size() == 1) {
            query = schema::websocket_query(subscriptions.front());
        }
    }
    if (with_token && token_in == TokenIn::query && !token.empty()) {
        query += (query.empty() ? "" : "&") + std::string("access_token=") +
                 schema::percent_encode(token);
    }
    if (!query.empty()) {
        out += (out.find('?') == std::string::npos ? "?" : "&") + query;
    }
    return out;
}

}  // namespace mastotape::record
