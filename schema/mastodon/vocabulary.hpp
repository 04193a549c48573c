#pragma once

// The words of Mastodon's streaming protocol that the tape and both sides share: the transport,
// what kind a frame is, a subscription, and the columns read off a frame's bytes. Below the
// tape's model (schema/tape/model.hpp), which is made of them.

#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

enum class Transport { websocket, sse };

std::string_view to_string(Transport t);
std::optional<Transport> transport_from_string(std::string_view s);

// What a received frame is. `event`, `error` and `text` are text frames (WebSocket) or SSE blocks,
// told apart by their bytes; `binary`, `ping` and `pong` are WebSocket opcodes; `comment` is an SSE
// comment line such as `:)` or `:thump`.
enum class FrameKind { event, error, text, binary, ping, pong, comment };

std::string_view to_string(FrameKind k);
std::optional<FrameKind> frame_kind_from_string(std::string_view s);

// What a client sends on a WebSocket, by opcode: text (subscribe and unsubscribe messages),
// binary, ping, pong, close. SSE clients send nothing once the request is made.
enum class MessageKind { text, binary, ping, pong, close };

std::string_view to_string(MessageKind k);
std::optional<MessageKind> message_kind_from_string(std::string_view s);

// Where a client hands the server its access token (mastodon-streaming.md section 2): the
// Authorization header, the `access_token` query parameter, or the Sec-WebSocket-Protocol header.
// Named as --token-in and a session's settings write it: header, query, subprotocol.
enum class TokenIn { header, query, subprotocol };

std::string_view to_string(TokenIn t);
std::optional<TokenIn> token_in_from_string(std::string_view s);

// One subscription: a stream name and, for `hashtag*` and `list`, its parameter.
struct Subscription {
    std::string stream;
    std::string param;  // tag or list id; empty when the stream takes none

    // The `stream` array the server labels events with, as compact JSON: ["hashtag","foo"].
    std::string label() const;
    // As --stream takes it: "hashtag=rust", "user".
    std::string spec() const { return param.empty() ? stream : stream + "=" + param; }
    bool operator==(const Subscription&) const = default;
};

// The columns parsed from a frame's bytes for querying; see frame_classifier.hpp.
struct FrameColumns {
    FrameKind kind = FrameKind::text;
    std::optional<std::string> stream;     // the `stream` array as compact JSON
    std::optional<std::string> event;      // event name
    std::optional<std::string> object_id;  // status/notification/conversation/deleted id
    bool parse_ok = true;                  // false: the bytes did not parse as their kind should
    bool operator==(const FrameColumns&) const = default;
};

}  // namespace mastotape::schema
