#pragma once

// One accepted connection of the replayer: plain TCP, or TLS over it when the replayer was given
// a certificate. The HTTP, SSE and WebSocket code sees one stream type either way, so it is
// compiled once (Beast's flex examples template every session on the stream instead). Private to
// replay/'s .cpp files: Beast stays out of the replayer's public header.
//
// Writes are coalesced: what is written while the socket is idle goes out at once, and what is
// written while an earlier write is still under way waits in a buffer and goes out with the next
// write, many WebSocket messages in one `sendmsg`. A frame is never held back when the socket is
// idle, so timing is unchanged; a client that reads slowly, or a sender that writes many messages
// between two turns of the event loop, makes fewer, bigger writes. The buffer is bounded: past
// `kBufferLimit` a write completes only when the one under way has.
//
// Lifetime: a ServerStream is made by std::make_shared, and every operation it starts on its own
// (the buffered write, the wait for one to end) holds it: a connection that ends by an exception
// with a write in flight frees its stream when that write completes, not under it.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "schema/tape/model.hpp"

namespace mastotape::replay {

// A TLS server context with the PEM certificate chain and private key given; throws
// std::runtime_error with one line naming the file it cannot load.
boost::asio::ssl::context server_tls(const std::string& cert, const std::string& key);

class ServerStream : public std::enable_shared_from_this<ServerStream> {
   public:
    using executor_type = boost::beast::tcp_stream::executor_type;

    // `tls`: the context to speak TLS with, or nullptr for plain TCP.
    ServerStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls)
        : tcp_(std::move(socket)), written_(tcp_.get_executor()) {
        written_.expires_at(boost::asio::steady_timer::time_point::max());
        if (tls != nullptr) {
            tls_.emplace(tcp_, *tls);
        }
    }
    // The TLS stream refers to `tcp_`: the object stays where it was made.
    ServerStream(const ServerStream&) = delete;
    ServerStream& operator=(const ServerStream&) = delete;

    executor_type get_executor() { return tcp_.get_executor(); }
    // The TCP stream under TLS (what beast::get_lowest_layer finds, with its timeouts).
    boost::beast::tcp_stream& next_layer() { return tcp_; }
    boost::asio::ip::tcp::socket& socket() { return tcp_.socket(); }
    // The TLS stream, or nullptr on plain TCP.
    boost::asio::ssl::stream<boost::beast::tcp_stream&>* tls() { return tls_ ? &*tls_ : nullptr; }

    template <typename MutableBuffers, typename Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::beast::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (tls_) {
                    tls_->async_read_some(b, std::move(handler));
                } else {
                    tcp_.async_read_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    template <typename ConstBuffers, typename Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::beast::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                std::size_t n = 0;
                for (auto it = boost::asio::buffer_sequence_begin(b);
                     it != boost::asio::buffer_sequence_end(b); ++it) {
                    const boost::asio::const_buffer piece = *it;
                    n += piece.size();
                    append(piece);
                }
                if (!strip_.empty()) {
                    if (const auto at = pending_.find(strip_); at != std::string::npos) {
                        pending_.erase(at, strip_.size());
                        bytes_written_ -= strip_.size();
                    }
                    strip_.clear();
                }
                start_write();
                when([this] { return has_room(); },
                     [this, h = std::move(handler), n]() mutable {
                         const auto ec = write_error_;
                         std::move(h)(ec, ec ? 0 : n);
                     });
            },
            token, buffers);
    }

    // Takes `bytes` out of the next write, once: Beast's WebSocket handshake adds a `Server`
    // header that no decorator can remove, and Mastodon's 101 has none.
    void strip_from_next_write(std::string bytes) { strip_ = std::move(bytes); }

    // Bytes written to the stream so far (into the buffer: on their way to the socket).
    std::uint64_t bytes_written() const { return bytes_written_; }

    // Whether a write goes in without waiting: the buffer is under its bound (or the connection
    // failed, which the write reports).
    bool has_room() const { return pending_.size() <= kBufferLimit || write_error_; }

    // Writes `head` then `body` as one piece at once, whatever the bound (ask has_room() first);
    // false when the connection has failed.
    bool write_now(std::string_view head, std::string_view body) {
        append(boost::asio::buffer(head));
        append(boost::asio::buffer(body));
        start_write();
        return !write_error_;
    }

    // Completes when has_room().
    template <typename Token>
    auto async_wait_room(Token&& token) {
        return boost::asio::async_initiate<Token, void()>(
            [this](auto handler) { when([this] { return has_room(); }, std::move(handler)); },
            token);
    }

    // Completes when everything written so far has reached the socket (or failed to): before the
    // socket itself is shut, reset or cancelled, and before the stream goes.
    template <typename Token>
    auto async_drain(Token&& token) {
        return boost::asio::async_initiate<Token, void()>(
            [this](auto handler) {
                when([this] { return !writing_ && (pending_.empty() || write_error_); },
                     std::move(handler));
            },
            token);
    }

   private:
    static constexpr std::size_t kBufferLimit = std::size_t{64} * 1024;

    void append(boost::asio::const_buffer piece) {
        bytes_written_ += piece.size();
        if (!write_error_) {
            pending_.append(static_cast<const char*>(piece.data()), piece.size());
        }
    }

    // Runs `handler` once `ready()` holds, never from inside the call (a write's end is what
    // changes it).
    template <typename Ready, typename Handler>
    void when(Ready ready, Handler&& handler) {
        if (ready()) {
            auto ex = boost::asio::get_associated_executor(handler, get_executor());
            boost::asio::post(ex, std::forward<Handler>(handler));
            return;
        }
        written_.async_wait([self = shared_from_this(), ready, h = std::forward<Handler>(handler)](
                                auto) mutable { self->when(ready, std::move(h)); });
    }

    // Starts writing what is buffered unless a write is under way; its end starts the next.
    void start_write() {
        if (writing_ || pending_.empty() || write_error_) {
            return;
        }
        writing_ = true;
        std::swap(pending_, in_flight_);
        auto done = [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
            self->writing_ = false;
            self->in_flight_.clear();
            if (ec) {
                self->write_error_ = ec;
            }
            self->start_write();
            self->written_.cancel();
        };
        if (tls_) {
            boost::asio::async_write(*tls_, boost::asio::buffer(in_flight_), std::move(done));
        } else {
            // The socket itself: tcp_stream's per-operation timeout bookkeeping costs more than
            // the write, and no write here has a deadline.
            boost::asio::async_write(tcp_.socket(), boost::asio::buffer(in_flight_),
                                     std::move(done));
        }
    }

    boost::beast::tcp_stream tcp_;
    std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls_;
    std::string pending_;    // written since the write under way started
    std::string in_flight_;  // the write under way
    std::string strip_;      // see strip_from_next_write()
    bool writing_ = false;
    std::uint64_t bytes_written_ = 0;
    boost::beast::error_code write_error_;
    boost::asio::steady_timer written_;  // cancelled each time a write ends
};

// Reports a network error on stderr unless it is an ordinary end of a connection (the peer went,
// a deadline passed, the operation was cancelled).
void report_failure(const boost::system::error_code& ec, const char* what);

// Closes `stream`'s socket when called (which ends what is reading it); `stream` must outlive it.
std::function<void()> socket_closer(ServerStream& stream);

// Ends the transport under a connection as a recorded one ended without a goodbye, after what was
// written has gone out: a `reset` is an RST; a `tls-error`, on a TLS connection, a record the
// client cannot decrypt; `eof`, a network error and anything else, the end of the TCP stream.
boost::asio::awaitable<void> end_transport(ServerStream& stream, schema::EndCause cause);

// How a WebSocket over a ServerStream ends its transport after the closing handshake (found by
// Beast through argument-dependent lookup): TLS close_notify first when there is TLS.
inline void teardown(boost::beast::role_type role, ServerStream& stream,
                     boost::beast::error_code& ec) {
    using boost::beast::websocket::teardown;
    if (auto* tls = stream.tls()) {
        teardown(role, *tls, ec);
    } else {
        teardown(role, stream.next_layer(), ec);
    }
}

template <typename TeardownHandler>
void async_teardown(boost::beast::role_type role, ServerStream& stream, TeardownHandler&& handler) {
    // The close frame may still be in the write buffer: it goes out before the transport ends.
    stream.async_drain([role, &stream, h = std::forward<TeardownHandler>(handler)]() mutable {
        using boost::beast::websocket::async_teardown;
        if (auto* tls = stream.tls()) {
            async_teardown(role, *tls, std::move(h));
        } else {
            async_teardown(role, stream.next_layer(), std::move(h));
        }
    });
}

}  // namespace mastotape::replay
