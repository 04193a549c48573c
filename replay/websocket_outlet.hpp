#pragma once

// The WebSocket endpoint (mastodon-streaming.md sections 1.1, 4, 5.1, 7.1, 8): the upgrade as the
// real server answers it, the client's subscribe and unsubscribe frames, and the tape played as
// unfragmented text frames and pings. Private to replay/'s .cpp files: Beast.

#include <boost/asio/awaitable.hpp>

#include <string>

#include "replay/http_response.hpp"
#include "replay/server_stream.hpp"
#include "replay/streaming.hpp"

namespace mastotape::replay {

// Serves an upgrade request on `stream` until the connection ends. `s` and `stream` must outlive
// the call.
boost::asio::awaitable<void> serve_websocket(Streaming& s, ServerStream& stream, Request req,
                                             std::string query);

// The real server's hand-written refusal of a WebSocket upgrade, then FIN; status 0 (a recorded
// attempt that got no answer at all) resets the connection instead.
boost::asio::awaitable<void> refuse_upgrade(ServerStream& stream, int status,
                                            const std::string& error_message);

}  // namespace mastotape::replay
