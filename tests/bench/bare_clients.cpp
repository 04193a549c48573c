// raw_limits' bare clients (bare_clients.hpp): a blocking Beast client, the same on an event
// loop, and LeanClients, the lightest client that still speaks WebSocket.

#include "tests/bench/bare_clients.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace raw_limits {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

// The port of ws://127.0.0.1:PORT.
unsigned short port_of(const std::string& url) {
    return static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
}

}  // namespace

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            continue;  // a pong or close into a full socket: tiny, rare
        }
        if (n <= 0) {
            return;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

Drained drain_one(unsigned short port, const std::string& target, const std::string& token) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"), port});
    websocket::stream<tcp::socket> ws(std::move(socket));
    ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + token);
    }));
    ws.handshake("127.0.0.1", target);
    beast::flat_buffer buffer;
    Drained d;
    const auto t0 = Clock::now();
    for (;;) {
        beast::error_code ec;
        const std::size_t n = ws.read(buffer, ec);
        if (ec) {
            break;
        }
        buffer.consume(buffer.size());
        ++d.messages;
        d.bytes += n;
    }
    d.seconds = seconds_since(t0);
    return d;
}

int bench_hold(const std::string& url, int clients, double seconds) {
    const unsigned short port = port_of(url);
    net::io_context ioc;
    int up = 0;
    for (int c = 0; c < clients; ++c) {
        net::co_spawn(
            ioc,
            [&, c]() -> net::awaitable<void> {
                websocket::stream<tcp::socket> ws(ioc);
                co_await ws.next_layer().async_connect({net::ip::make_address("127.0.0.1"), port},
                                                       net::use_awaitable);
                ws.set_option(websocket::stream_base::decorator([c](websocket::request_type& req) {
                    req.set(beast::http::field::authorization, "Bearer hold-" + std::to_string(c));
                }));
                co_await ws.async_handshake("127.0.0.1", "/api/v1/streaming?stream=public",
                                            net::use_awaitable);
                ++up;
                net::steady_timer idle(ioc);
                idle.expires_after(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::duration<double>(seconds)));
                co_await idle.async_wait(net::use_awaitable);
            },
            net::detached);
    }
    ioc.run();
    std::printf("{\"what\":\"hold\",\"clients\":%d,\"connected\":%d}\n", clients, up);
    return up == clients ? 0 : 1;
}

namespace {

// drain_one's client on an event loop: many connections on one thread, as a client with many
// connections would be written (a thread each would spend the machine on waking threads).
net::awaitable<void> drain_async(unsigned short port, std::string token, Drained& d) {
    auto ex = co_await net::this_coro::executor;
    websocket::stream<tcp::socket> ws(ex);
    co_await ws.next_layer().async_connect({net::ip::make_address("127.0.0.1"), port},
                                           net::use_awaitable);
    ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + token);
    }));
    co_await ws.async_handshake("127.0.0.1", "/api/v1/streaming?stream=public", net::use_awaitable);
    beast::flat_buffer buffer;
    const auto t0 = Clock::now();
    for (;;) {
        auto [ec, n] = co_await ws.async_read(buffer, net::as_tuple(net::use_awaitable));
        if (ec) {
            break;
        }
        buffer.consume(buffer.size());
        ++d.messages;
        d.bytes += n;
    }
    d.seconds = seconds_since(t0);
}

// The lightest client that still speaks WebSocket, for the timing figures with many clients: on
// two cores, 1,000 Beast clients (a coroutine, a UTF-8 check and a buffer each) take more of the
// machine than the replayer they measure. Here one thread does the upgrade by hand, then reads
// every connection with epoll and recv, walking the frame headers to count messages; it answers
// pings and the closing handshake, and checks nothing else.
class LeanClients {
   public:
    LeanClients(unsigned short port, int clients) : conns_(static_cast<std::size_t>(clients)) {
        epoll_ = epoll_create1(0);
        for (std::size_t c = 0; c < conns_.size(); ++c) {
            connect_one(port, conns_[c], "drain-" + std::to_string(c));
        }
    }
    ~LeanClients() { close(epoll_); }

    std::vector<Drained> run() {
        std::size_t open = conns_.size();
        std::vector<char> buf(256 * 1024);
        std::vector<epoll_event> events(256);
        while (open > 0) {
            const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
            for (int i = 0; i < n; ++i) {
                Conn& c = conns_[events[static_cast<std::size_t>(i)].data.u64];
                const ssize_t got = recv(c.fd, buf.data(), buf.size(), 0);
                if (got > 0) {
                    feed(c, buf.data(), static_cast<std::size_t>(got));
                } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    c.d.seconds = seconds_since(c.t0);
                    close(c.fd);  // also leaves the epoll set
                    --open;
                }
            }
        }
        std::vector<Drained> out;
        for (const auto& c : conns_) {
            out.push_back(c.d);
        }
        return out;
    }

   private:
    struct Conn {
        int fd = -1;
        Clock::time_point t0;
        std::array<unsigned char, 14> head{};
        std::size_t head_have = 0;
        std::uint64_t left = 0;  // payload bytes still to come of the frame being read
        bool in_payload = false;
        unsigned char opcode = 0;
        bool fin = false;
        std::uint64_t message_bytes = 0;
        std::string control;  // a ping's or close's payload
        Drained d;
    };

    void connect_one(unsigned short port, Conn& c, const std::string& token) {
        c.fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
        }
        const int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const std::string request =
            "GET /api/v1/streaming?stream=public HTTP/1.1\r\nHost: 127.0.0.1:" +
            std::to_string(port) +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            "Authorization: Bearer " +
            token + "\r\n\r\n";
        send_all(c.fd, request);
        std::string response;
        char piece[4096];
        std::size_t end = std::string::npos;
        while (end == std::string::npos) {
            const ssize_t got = recv(c.fd, piece, sizeof piece, 0);
            if (got <= 0) {
                throw std::runtime_error("the server closed during the upgrade");
            }
            response.append(piece, static_cast<std::size_t>(got));
            end = response.find("\r\n\r\n");
        }
        if (response.rfind("HTTP/1.1 101", 0) != 0) {
            throw std::runtime_error("upgrade refused: " + response.substr(0, response.find('\r')));
        }
        c.t0 = Clock::now();
        fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        if (end + 4 < response.size()) {  // frames right behind the 101
            feed(c, response.data() + end + 4, response.size() - end - 4);
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
        epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    }

    // A client's frame to the server: masked (with a zero key: the payload goes as it is).
    static void send_control(int fd, unsigned char opcode, const std::string& payload) {
        std::string frame;
        frame += static_cast<char>(0x80 | opcode);
        frame += static_cast<char>(0x80 | payload.size());
        frame.append(4, '\0');
        send_all(fd, frame + payload);
    }

    static void feed(Conn& c, const char* data, std::size_t n) {
        // Also once more with nothing left when a header has just ended an empty frame.
        while (n > 0 || (c.in_payload && c.left == 0)) {
            if (!c.in_payload) {
                c.head[c.head_have++] = static_cast<unsigned char>(*data++);
                --n;
                if (c.head_have < 2) {
                    continue;
                }
                const unsigned len7 = c.head[1] & 0x7f;
                const std::size_t need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
                if (c.head_have < need) {
                    continue;
                }
                c.fin = (c.head[0] & 0x80) != 0;
                c.opcode = c.head[0] & 0x0f;
                c.left = len7;
                if (len7 >= 126) {
                    c.left = 0;
                    for (std::size_t i = 2; i < need; ++i) {
                        c.left = (c.left << 8) | c.head[i];
                    }
                }
                c.head_have = 0;
                c.in_payload = true;
                c.control.clear();
            }
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(c.left, n));
            if (c.opcode >= 8) {
                c.control.append(data, take);
            } else {
                c.message_bytes += take;
            }
            data += take;
            n -= take;
            c.left -= take;
            if (c.left == 0) {
                c.in_payload = false;
                end_frame(c);
            }
        }
    }

    static void end_frame(Conn& c) {
        if (c.opcode == 0x9) {
            send_control(c.fd, 0xA, c.control);  // pong
        } else if (c.opcode == 0x8) {
            send_control(c.fd, 0x8, c.control.substr(0, 2));  // the closing handshake
        } else if (c.opcode < 8 && c.fin) {
            ++c.d.messages;
            c.d.bytes += c.message_bytes;
            c.message_bytes = 0;
        }
    }

    int epoll_ = -1;
    std::vector<Conn> conns_;
};

}  // namespace

int bench_drain(const std::string& url, int clients, DrainMode mode) {
    const unsigned short port = port_of(url);
    const bool async = mode == DrainMode::async;
    std::vector<Drained> drained(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    if (mode == DrainMode::lean) {
        drained = LeanClients(port, clients).run();
    }
    const int thread_count = mode == DrainMode::lean ? 0 : async ? std::min(clients, 2) : clients;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            if (!async) {
                drained[static_cast<std::size_t>(t)] = drain_one(
                    port, "/api/v1/streaming?stream=public", "drain-" + std::to_string(t));
                return;
            }
            net::io_context ioc;
            for (int c = t; c < clients; c += thread_count) {
                net::co_spawn(ioc,
                              drain_async(port, "drain-" + std::to_string(c),
                                          drained[static_cast<std::size_t>(c)]),
                              net::detached);
            }
            ioc.run();
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::size_t total = 0;
    std::size_t bytes = 0;
    double secs = 0;
    for (const auto& d : drained) {
        total += d.messages;
        bytes += d.bytes;
        secs = std::max(secs, d.seconds);
    }
    std::printf(
        "{\"what\":\"drain\",\"clients\":%d,\"messages\":%zu,\"bytes\":%zu,\"seconds\":%.4f,"
        "\"per_s\":%.0f}\n",
        clients, total, bytes, secs, static_cast<double>(total) / secs);
    return total > 0 ? 0 : 1;
}

int bench_first(const std::string& url, int count) {
    const unsigned short port = port_of(url);
    std::vector<double> ms;
    for (int i = 0; i < count; ++i) {
        net::io_context ioc;
        const auto t0 = Clock::now();
        tcp::socket socket(ioc);
        socket.connect({net::ip::make_address("127.0.0.1"), port});
        websocket::stream<tcp::socket> ws(std::move(socket));
        ws.set_option(websocket::stream_base::decorator([i](websocket::request_type& req) {
            req.set(beast::http::field::authorization, "Bearer first-" + std::to_string(i));
        }));
        ws.handshake("127.0.0.1", "/api/v1/streaming?stream=public");
        beast::flat_buffer buffer;
        ws.read(buffer);
        ms.push_back(seconds_since(t0) * 1000);
    }
    std::printf("{\"what\":\"first_frame\",\"count\":%d,\"p50_ms\":%.2f,\"max_ms\":%.2f}\n", count,
                percentile(ms, 0.5), *std::max_element(ms.begin(), ms.end()));
    return 0;
}

}  // namespace raw_limits
