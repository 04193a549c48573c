#include "replay/streaming.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

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

namespace {

// The client's side read to its end, then said so.
boost::asio::awaitable<void> read_to_end(boost::asio::awaitable<void> reader, bool& done) {
    co_await std::move(reader);
    done = true;
}

}  // namespace

boost::asio::awaitable<void> Streaming::play_then_stop(Outlet& out, LiveConnection& conn,
                                                       ClientState& client, const Admitted& a,
                                                       const bool& reader_done,
                                                       const std::function<void()>& stop_reader,
                                                       std::exception_ptr& failure) {
    // A tape that fails to read (a corrupt page) ends this connection: the log says why before
    // the socket closes (a client that sees it close may be gone, with the server, before a
    // line written later).
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
    if (!reader_done) {
        stop_reader();
    }
}

boost::asio::awaitable<void> Streaming::play(Outlet& out, LiveConnection& conn, ClientState& client,
                                             const Admitted& a, boost::asio::awaitable<void> reader,
                                             const std::function<void()>& stop_reader) {
    using boost::asio::experimental::awaitable_operators::operator&&;
    player.add(conn);
    ++client.live;
    client.subscriptions = conn.subscriptions;
    // The reader and the player run together and both end here: whichever ends first, nothing
    // refers to `out` or `conn` once this returns.
    bool reader_done = false;
    std::exception_ptr failure;
    co_await (read_to_end(std::move(reader), reader_done) &&
              play_then_stop(out, conn, client, a, reader_done, stop_reader, failure));
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
