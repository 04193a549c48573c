#pragma once

// One connection attempt to the streaming server, over WebSocket (ws_connection) or SSE
// (sse_connection): connect, handshake, then read frames until the connection ends; the result
// says how it ended. What arrives and what is sent is reported, as it happens, to the
// ConnectionEvents of the session that made it. Beast stays inside the two .cpp files.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "record/connection_end.hpp"
#include "schema/mastodon/heartbeats.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/model.hpp"

namespace mastotape::record {

struct Transport;

using schema::TokenIn;

// What every attempt of a session is made with.
struct ConnectionSettings {
    schema::Url url;  // the streaming endpoint: ws(s) for WebSocket, http(s) for SSE
    std::vector<schema::Subscription> subscriptions;
    std::string token;  // never logged, stored or printed
    TokenIn token_in = TokenIn::header;
    std::chrono::steady_clock::duration heartbeat_timeout = std::chrono::nanoseconds(
        schema::default_heartbeat_timeout_ns(schema::Transport::websocket));
    std::size_t max_frame = std::size_t{16} * 1024 * 1024;

    // The request target, with the token in the query when it travels there and `with_token`.
    std::string target(schema::Transport transport, bool with_token) const;
};

// What a connection tells its session, on the network thread.
class ConnectionEvents {
   public:
    virtual ~ConnectionEvents() = default;
    // A frame arrived.
    virtual void on_frame(schema::FrameKind kind, std::string bytes) = 0;
    // The connection sent a message of `kind` (text, pong, close) itself.
    virtual void on_sent(schema::MessageKind kind, std::string bytes) = 0;
    // The handshake finished: `row` has its status, headers and subprotocol; the session stamps
    // its time and stores it.
    virtual void on_up(schema::Connection& row) = 0;
    // Whether the writer has room for more; when not, the connection waits in writer_room()
    // before reading on, so that memory stays flat when the disk is slower than the network.
    virtual bool writer_has_room() = 0;
    virtual boost::asio::awaitable<void> writer_room() = 0;
};

class StreamConnection {
   public:
    virtual ~StreamConnection() = default;
    // Runs the attempt whose row is `row` (the handshake's time, status, headers and subprotocol
    // are filled in) to its end. The object and `row` must outlive the call.
    virtual boost::asio::awaitable<Outcome> run(schema::Connection& row) = 0;
    // Ends the connection as a local stop: an established WebSocket closes with 1000, an SSE
    // response or a handshake still under way has its socket closed at once. A no-op once it
    // has ended.
    virtual void stop() = 0;
};

// `t`, `settings` and `events` must outlive the connection; it runs on `ex`.
std::unique_ptr<StreamConnection> make_ws_connection(boost::asio::any_io_executor ex, Transport& t,
                                                     const ConnectionSettings& settings,
                                                     ConnectionEvents& events);
std::unique_ptr<StreamConnection> make_sse_connection(boost::asio::any_io_executor ex, Transport& t,
                                                      const ConnectionSettings& settings,
                                                      ConnectionEvents& events);

}  // namespace mastotape::record
