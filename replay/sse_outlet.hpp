#pragma once

// The SSE endpoints (mastodon-streaming.md sections 1.2, 5.2, 7.2): one stream per request, the
// tape played as a chunked text/event-stream body with `:)` first and `:thump` heartbeats.
// Private to replay/'s .cpp files: Beast.

#include <boost/asio/awaitable.hpp>

#include "replay/http_response.hpp"
#include "replay/server_stream.hpp"
#include "replay/streaming.hpp"

namespace mastotape::replay {

// Serves the SSE request `req` for subscription `sub` until the connection ends, or answers it
// with the real server's error; true when the connection stays open for another request. `s` and
// `stream` must outlive the call.
boost::asio::awaitable<bool> serve_sse(Streaming& s, ServerStream& stream, Request req,
                                       schema::Subscription sub);

}  // namespace mastotape::replay
