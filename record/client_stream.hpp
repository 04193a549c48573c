#pragma once

// The recorder's connection to a server: plain TCP, or TLS over it for https:// and wss://. The
// HTTP, SSE and WebSocket code sees one stream type either way, so Beast's HTTP and WebSocket
// operations over it are instantiated once, not once per transport (the replayer's ServerStream
// does the same on the other side). (Asio 1.81's any_completion_handler would erase the handler
// type too, but its executor cannot be posted to, which Beast does.) Private to record/'s .cpp
// files: this header brings in Beast.
//
// For the WebSocket, Beast ends the transport (its teardown) after a closing handshake and after
// it failed the connection on a protocol violation, having sent its close frame (1002, 1007,
// 1009). Its own teardown reads until the server closes TCP, with no deadline, and the read then
// reports how TCP ended over what the WebSocket said: a server that never closed held the
// recorder until the heartbeat watchdog, and one that reset after its close frame was recorded as
// a reset. Here the connection is told when a teardown starts (to end the transport at once, or
// to give it a deadline), and the teardown always completes without error, so the read reports
// what ended the WebSocket: the server's close frame, or the violation Beast found.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <cstddef>
#include <functional>
#include <optional>

namespace mastotape::record {

using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream&>;

class ClientStream {
   public:
    using executor_type = boost::beast::tcp_stream::executor_type;

    // `tls`: the context to speak TLS with, or nullptr for plain TCP.
    ClientStream(boost::asio::any_io_executor ex, boost::asio::ssl::context* tls);
    // The TLS stream refers to `tcp_`: the object stays where it was made.
    ClientStream(const ClientStream&) = delete;
    ClientStream& operator=(const ClientStream&) = delete;

    executor_type get_executor() { return tcp_.get_executor(); }
    // The TCP stream under TLS (what beast::get_lowest_layer finds, with its timeouts).
    boost::beast::tcp_stream& next_layer() { return tcp_; }
    // The TLS stream, or nullptr on plain TCP.
    TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

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
                if (tls_) {
                    tls_->async_write_some(b, std::move(handler));
                } else {
                    tcp_.async_write_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    // Called when Beast starts ending the transport under a WebSocket, its close frame (if any)
    // written.
    std::function<void()> on_teardown;

    // Ends the transport under a WebSocket (see above); completes without error.
    void teardown(boost::beast::role_type role,
                  boost::asio::any_completion_handler<void(boost::beast::error_code)> handler);

   private:
    boost::beast::tcp_stream tcp_;
    std::optional<TlsStream> tls_;
};

// Found by Beast through argument-dependent lookup.
template <typename Handler>
void async_teardown(boost::beast::role_type role, ClientStream& stream, Handler&& handler) {
    stream.teardown(role, std::forward<Handler>(handler));
}

}  // namespace mastotape::record
