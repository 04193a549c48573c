#pragma once

// One accepted connection of the replayer: plain TCP, or TLS over it when the replayer was given
// a certificate. The HTTP, SSE and WebSocket code sees one stream type either way, so it is
// compiled once (Beast's flex examples template every session on the stream instead). Private to
// replay_server.cpp: Beast stays out of the replayer's public header.

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <optional>

namespace mastotape::replay {

class ServerStream {
   public:
    using executor_type = boost::beast::tcp_stream::executor_type;

    // `tls`: the context to speak TLS with, or nullptr for plain TCP.
    ServerStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls)
        : tcp_(std::move(socket)) {
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
                if (tls_) {
                    tls_->async_write_some(b, std::move(handler));
                } else {
                    tcp_.async_write_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

   private:
    boost::beast::tcp_stream tcp_;
    std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls_;
};

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
    using boost::beast::websocket::async_teardown;
    if (auto* tls = stream.tls()) {
        async_teardown(role, *tls, std::forward<TeardownHandler>(handler));
    } else {
        async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
    }
}

}  // namespace mastotape::replay
