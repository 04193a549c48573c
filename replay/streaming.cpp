#include "replay/streaming.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <exception>
#include <iostream>

#include "schema/text/byte_codec.hpp"

namespace mastotape::replay {

std::optional<std::string> Streaming::token_problem(const std::string& token) const {
    if (options.require_token.empty()) {
        return std::nullopt;
    }
    if (token.empty()) {
        return "Missing access token";
    }
    if (token != options.require_token) {
        return "Invalid access token";
    }
    return std::nullopt;
}

SteadyClock::duration Streaming::silence_after(const PlannedConnection& p) const {
    std::int64_t gap = 0;
    for (std::size_t k = 0; k + 1 < plan.connections.size(); ++k) {
        if (&plan.connections[k] == &p) {
            gap = plan.connections[k + 1].up_offset_ns - p.end_offset_ns;
        }
    }
    return clock.silence_for(gap);
}

boost::asio::awaitable<void> Streaming::play(Outlet& out, LiveConnection& conn, ClientState& client,
                                             const Admitted& a, boost::asio::awaitable<void> reader,
                                             const std::function<void()>& stop_reader) {
    player.add(conn);
    ++client.live;
    client.subscriptions = conn.subscriptions;
    conn.reader_started();
    boost::asio::co_spawn(conn.wake.get_executor(), std::move(reader), boost::asio::detached);
    // A tape that fails to read (a corrupt page) ends this connection: the log says why before
    // the socket closes (a client that sees it close may be gone, with the server, before a
    // line written later), then its reader is joined and its state let go as after any end.
    std::exception_ptr failure;
    try {
        co_await player.play(out, conn, client, a.connection, a.start);
    } catch (const std::exception& e) {
        std::cerr << "replay: " << schema::printable(e.what())
                  << "; closed the client's connection\n";
        conn.closed = true;
    } catch (...) {
        failure = std::current_exception();
        conn.closed = true;
    }
    if (!conn.reader_done()) {
        stop_reader();
    }
    co_await conn.join_reader();
    --client.live;
    player.remove(conn);
    if (connection_ended) {
        connection_ended();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

}  // namespace mastotape::replay
