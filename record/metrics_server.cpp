#include "record/metrics_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <stdexcept>

#include "record/coro.hpp"

namespace mastotape::record {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::size_t kMaxRequest = 8192;
constexpr auto kRequestTimeout = std::chrono::seconds(5);

const char* reason_of(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 503:
            return "Service Unavailable";
        default:
            return "Error";
    }
}

std::string response(const MetricsAnswer& a, bool head) {
    return "HTTP/1.1 " + std::to_string(a.status) + ' ' + reason_of(a.status) +
           "\r\nContent-Type: " + a.content_type +
           "\r\nContent-Length: " + std::to_string(a.body.size()) +
           "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + (head ? "" : a.body);
}

// Reads one request head and answers it; a client that says nothing in time is dropped.
net::awaitable<void> serve(tcp::socket socket, const MetricsServer::Handler& handler) {
    net::steady_timer timeout(socket.get_executor());
    timeout.expires_after(kRequestTimeout);
    timeout.async_wait([&socket](const boost::system::error_code& ec) {
        if (!ec) {
            boost::system::error_code ignored;
            socket.close(ignored);
        }
    });
    std::string head;
    auto buffer = net::dynamic_buffer(head, kMaxRequest);
    const auto [ec, n] = co_await net::async_read_until(socket, buffer, "\r\n\r\n", kUseTuple);
    timeout.cancel();
    if (ec) {
        co_return;
    }
    const std::size_t sp1 = head.find(' ');
    const std::size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
    MetricsAnswer a;
    bool is_head = false;
    if (sp2 == std::string::npos) {
        a = {400, "text/plain; charset=utf-8", "bad request\n"};
    } else {
        const std::string method = head.substr(0, sp1);
        std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
        path = path.substr(0, path.find('?'));
        is_head = method == "HEAD";
        a = method == "GET" || is_head
                ? handler(path)
                : MetricsAnswer{405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
    }
    const std::string out = response(a, is_head);
    co_await net::async_write(socket, net::buffer(out), kUseTuple);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

MetricsServer::MetricsServer(const net::any_io_executor& ex, const std::string& host,
                             std::uint16_t port, Handler handler)
    : acceptor_(ex), handler_(std::move(handler)) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (!ec) {
        const tcp::endpoint at(address, port);
        acceptor_.open(at.protocol(), ec);
        if (!ec) {
            acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
            acceptor_.bind(at, ec);
        }
        if (!ec) {
            acceptor_.listen(net::socket_base::max_listen_connections, ec);
        }
    }
    if (ec) {
        throw std::runtime_error("--metrics " + host + ":" + std::to_string(port) +
                                 ": cannot listen there (" + ec.message() + ")");
    }
}

std::uint16_t MetricsServer::port() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
}

void MetricsServer::start() {
    net::co_spawn(
        acceptor_.get_executor(),
        [this]() -> net::awaitable<void> {
            for (;;) {
                auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
                if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
                    co_return;
                }
                if (ec) {
                    // Out of descriptors, most often: try again in a moment, not in a spin.
                    net::steady_timer pause(acceptor_.get_executor(),
                                            std::chrono::milliseconds(50));
                    co_await pause.async_wait(kUseTuple);
                    continue;
                }
                net::co_spawn(acceptor_.get_executor(), serve(std::move(socket), handler_),
                              net::detached);
            }
        },
        net::detached);
}

void MetricsServer::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

}  // namespace mastotape::record
