#pragma once

// Translations between transports, for replaying a WebSocket tape over SSE and back. Used only
// when the client's transport differs from the tape's; same-transport replays send bytes as
// recorded.

#include <optional>
#include <string>
#include <string_view>

namespace mastotape::replay {

// `{"stream":[...],"event":"X","payload":"P"}` -> `event: X\ndata: P\n\n`; nullopt if not an
// event envelope.
std::optional<std::string> sse_block_from_envelope(std::string_view envelope);

// `event: X\ndata: P\n\n` -> `{"stream":LABEL,"event":"X","payload":"P"}` as the server's
// JSON.stringify writes it; nullopt if not an event block.
std::optional<std::string> envelope_from_sse_block(std::string_view block, std::string_view label);

}  // namespace mastotape::replay
