#include "replay/server_stream.hpp"

#include "replay/coro.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <array>
#include <chrono>
#include <iostream>

#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace mastotape::replay {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::function<void()> socket_closer(ServerStream& stream) {
    return [&stream] {
        boost::system::error_code ignored;
        stream.socket().close(ignored);
    };
}

void report_failure(const boost::system::error_code& ec, const char* what) {
    namespace beast = boost::beast;
    if (ec == net::error::operation_aborted || ec == beast::websocket::error::closed ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == beast::error::timeout || ec == beast::http::error::end_of_stream ||
        ec == net::ssl::error::stream_truncated) {
        return;
    }
    std::cerr << "replay: " << what << ": " << ec.message() << '\n';
}

namespace {

// A peer that acknowledges nothing more for this long is reset with what it has not taken.
constexpr auto kAckPatience = std::chrono::seconds(10);

// Waits until the peer has acknowledged every byte handed to the kernel (SIOCOUTQ: unsent plus
// unacknowledged), or has stopped taking any. An RST discards the kernel's unsent data: without
// this, at --max-speed most frames before a recorded reset never left the machine.
net::awaitable<void> wait_acknowledged(tcp::socket& socket) {
    net::steady_timer tick(socket.get_executor());
    int last = -1;
    auto progress_at = std::chrono::steady_clock::now();
    for (;;) {
        int queued = 0;
        if (::ioctl(socket.native_handle(), SIOCOUTQ, &queued) != 0 || queued == 0) {
            co_return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (queued != last) {
            last = queued;
            progress_at = now;
        } else if (now - progress_at > kAckPatience) {
            co_return;
        }
        tick.expires_after(std::chrono::milliseconds(1));
        co_await tick.async_wait(kUseTuple);
    }
}

// Reads and drops what the client has sent and nobody read (a pong under way): closing a socket
// with unread input sends an RST instead of a FIN, which is not the end the tape recorded.
void discard_input(tcp::socket& socket) {
    boost::system::error_code ec;
    std::array<char, 4096> sink{};
    while (socket.available(ec) > 0 && !ec) {
        socket.receive(net::buffer(sink), 0, ec);
    }
}

}  // namespace

net::awaitable<void> end_transport(ServerStream& stream, schema::EndCause cause) {
    co_await stream.async_drain(kUseTuple);  // what came before the end goes out first
    auto& socket = stream.socket();
    boost::system::error_code ignored;
    if (cause == schema::EndCause::tls_error && stream.tls() != nullptr) {
        // An application-data record (TLS 1.2/1.3 framing) of 32 bytes of nonsense, written under
        // the TLS layer.
        std::array<unsigned char, 37> record{0x17, 0x03, 0x03, 0x00, 0x20};
        co_await net::async_write(socket, net::buffer(record), kUseTuple);
    }
    // Every cause: the client has what was sent before the end, since an RST (the one asked for,
    // or one that input arriving at the close makes) discards what it has not acknowledged. The
    // disconnect campaign lost the last 46 frames of a connection ended as a network error so.
    co_await wait_acknowledged(socket);
    if (cause == schema::EndCause::reset) {
        socket.set_option(net::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
        co_return;
    }
    discard_input(socket);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

boost::asio::ssl::context server_tls(const std::string& cert, const std::string& key) {
    namespace ssl = boost::asio::ssl;
    ssl::context tls(ssl::context::tls_server);
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3);
    boost::system::error_code ec;
    tls.use_certificate_chain_file(cert, ec);
    if (ec) {
        throw std::runtime_error(cert + ": cannot load a PEM certificate chain: " + ec.message());
    }
    tls.use_private_key_file(key, ssl::context::pem, ec);
    if (ec) {
        throw std::runtime_error(key + ": cannot load a PEM private key matching " + cert + ": " +
                                 ec.message());
    }
    return tls;
}

}  // namespace mastotape::replay
