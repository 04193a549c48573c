// The machine's raw limits, measured in the same run as mastotape, so that mastotape's figures
// can be given as ratios (bench/run.sh). Nothing of mastotape is used here: bare Beast, bare
// SQLite, a bare Asio timer, and a bare draining client for the replayer.
//
//   raw_limits ws COUNT SIZE [TAPE]     bare Beast server -> bare Beast client on loopback
//                                       (TAPE: send its event frames instead of SIZE-byte ones)
//   raw_limits sqlite COUNT SIZE FILE [--table-only]
//                                       batched inserts of COUNT frames with the tape's pragmas
//                                       and indexes (or without the indexes)
//   raw_limits timer PERIOD_MS COUNT    lateness of a periodic steady_timer
//   raw_limits first URL COUNT          COUNT new clients one by one: connect to first message
//   raw_limits hold URL CLIENTS SECS    CLIENTS clients connect and stay idle for SECS
//   raw_limits drain URL CLIENTS [--async|--lean]
//                                       CLIENTS WebSocket clients drain URL until it closes (a
//                                       thread each, on two event-loop threads, or --lean: one
//                                       epoll thread that only walks the frames)
//   raw_limits fanout CLIENTS PERIOD_MS SECS SENDERS TAPE
//                                       SENDERS threads send TAPE's event frames to CLIENTS
//                                       loopback sockets, one every PERIOD_MS to each at evenly
//                                       spread phases, for SECS; lateness of each send against
//                                       its due time, and CPU per send
//
// Each prints one JSON object on stdout.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A frame shaped like the tape's: a JSON envelope padded to `size` bytes.
std::string frame_of_size(std::size_t size, std::size_t i) {
    std::string f = R"({"stream":["public"],"event":"update","payload":"{\"id\":\")" +
                    std::to_string(113000000000000000ULL + i) + R"(\",\"content\":\")";
    const std::string tail = R"(\"}"})";
    if (f.size() + tail.size() < size) {
        f.append(size - f.size() - tail.size(), 'x');
    }
    return f + tail;
}

// The frames a bare server sends: the first 1,000 event frames of TAPE when one is given (the
// very bytes mastotape replays, so the client's UTF-8 check costs the same), else padded
// envelopes of `size` bytes.
std::vector<std::string> frames_for(std::size_t size, const std::string& tape) {
    std::vector<std::string> frames;
    if (tape.empty()) {
        for (std::size_t i = 0; i < 1000; ++i) {
            frames.push_back(frame_of_size(size, i));
        }
        return frames;
    }
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_open_v2(tape.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
        // Plain rows only (a tape written with --compress none): these are sent as they are.
        sqlite3_prepare_v2(db,
                           "SELECT bytes FROM frames WHERE kind = 'event' AND codec = 0 LIMIT 1000",
                           -1, &st, nullptr) != SQLITE_OK) {
        throw std::runtime_error(tape + ": cannot read frames: " + sqlite3_errmsg(db));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        frames.emplace_back(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                            static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (frames.empty()) {
        throw std::runtime_error(tape + ": no plain event frames (synth it with --compress none)");
    }
    return frames;
}

struct Drained {
    std::size_t messages = 0;
    std::size_t bytes = 0;
    double seconds = 0;  // from the handshake to the end
};

// The bare client, the same for the bare server and for mastotape replay: blocking reads of
// whole messages until the server closes.
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

int bench_ws(std::size_t count, std::size_t size, const std::string& tape) {
    net::io_context server_ioc;
    tcp::acceptor acceptor(server_ioc, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    const std::vector<std::string> frames = frames_for(size, tape);
    std::thread server([&] {
        tcp::socket socket(server_ioc);
        acceptor.accept(socket);
        socket.set_option(tcp::no_delay(true));
        websocket::stream<tcp::socket> ws(std::move(socket));
        ws.auto_fragment(false);
        ws.accept();
        ws.text(true);
        for (std::size_t i = 0; i < count; ++i) {
            ws.write(net::buffer(frames[i % frames.size()]));
        }
        ws.close(websocket::close_code::normal);
    });
    const Drained d = drain_one(port, "/", "bare");
    server.join();
    std::size_t total = 0;
    for (const auto& f : frames) {
        total += f.size();
    }
    std::printf(
        "{\"what\":\"ws\",\"size\":%zu,\"from_tape\":%s,\"messages\":%zu,\"seconds\":%.4f,"
        "\"per_s\":%.0f}\n",
        tape.empty() ? size : total / frames.size(), tape.empty() ? "false" : "true", d.messages,
        d.seconds, static_cast<double>(d.messages) / d.seconds);
    return d.messages == count ? 0 : 1;
}

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::fprintf(stderr, "sqlite: %s: %s\n", sql, err);
        std::exit(1);
    }
}

// The tape's frames table, indexes and pragmas, filled the way the recorder's writer fills it:
// prepared inserts, 1,000 rows a transaction. `indexes` false: the table alone, what SQLite
// costs for the rows without anything to find them by.
int bench_sqlite(std::size_t count, std::size_t size, const std::string& path, bool indexes) {
    std::remove(path.c_str());
    std::remove((path + "-wal").c_str());
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
        std::fprintf(stderr, "sqlite: cannot open %s\n", path.c_str());
        return 1;
    }
    exec(db, "PRAGMA page_size=16384");
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
    exec(db,
         "CREATE TABLE frames (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, "
         "seq INTEGER NOT NULL, connection_idx INTEGER NOT NULL, offset_ns INTEGER NOT NULL, "
         "wall_ns INTEGER NOT NULL, kind TEXT NOT NULL, parse_ok INTEGER NOT NULL, stream TEXT, "
         "event TEXT, object_id TEXT, bytes BLOB NOT NULL)");
    if (indexes) {
        exec(db, "CREATE UNIQUE INDEX frames_by_seq ON frames (session_id, seq)");
        exec(db, "CREATE INDEX frames_by_time ON frames (session_id, offset_ns)");
        exec(db, "CREATE INDEX frames_by_kind ON frames (session_id, kind, offset_ns)");
        exec(db,
             "CREATE INDEX frames_by_event ON frames (session_id, event, stream, "
             "length(object_id), object_id, offset_ns)");
        exec(db, "CREATE INDEX frames_by_object ON frames (object_id) WHERE object_id IS NOT NULL");
    }
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(
        db,
        "INSERT INTO frames (session_id, seq, connection_idx, offset_ns, wall_ns, kind, "
        "parse_ok, stream, event, object_id, bytes) "
        "VALUES (1,?,0,?,?,'event',1,'[\"public\"]','update',?,?)",
        -1, &st, nullptr);
    std::vector<std::string> frames;
    for (std::size_t i = 0; i < 1000; ++i) {
        frames.push_back(frame_of_size(size, i));
    }
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < count; ++i) {
        if (i % 1000 == 0) {
            exec(db, "BEGIN");
        }
        const auto n = static_cast<sqlite3_int64>(i);
        sqlite3_bind_int64(st, 1, n + 1);
        sqlite3_bind_int64(st, 2, n * 1000);
        sqlite3_bind_int64(st, 3, n * 1000);
        const std::string id = std::to_string(113000000000000000ULL + i);
        sqlite3_bind_text(st, 4, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
        const auto& f = frames[i % frames.size()];
        sqlite3_bind_blob(st, 5, f.data(), static_cast<int>(f.size()), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            std::fprintf(stderr, "sqlite: insert failed: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        sqlite3_reset(st);
        if (i % 1000 == 999 || i + 1 == count) {
            exec(db, "COMMIT");
        }
    }
    const double secs = seconds_since(t0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    std::printf(
        "{\"what\":\"sqlite\",\"size\":%zu,\"indexes\":%s,\"rows\":%zu,\"seconds\":%.4f,"
        "\"per_s\":%.0f}\n",
        size, indexes ? "true" : "false", count, secs, static_cast<double>(count) / secs);
    return 0;
}

// CLIENTS clients connect, upgrade and then sit idle for SECONDS (for the replayer's memory per
// idle client).
int bench_hold(const std::string& url, int clients, double seconds) {
    const auto port = static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
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

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int bench_timer(int period_ms, std::size_t count) {
    net::io_context ioc;
    net::steady_timer timer(ioc);
    std::vector<double> late_us;
    auto due = Clock::now();
    std::function<void()> arm = [&] {
        due += std::chrono::milliseconds(period_ms);
        timer.expires_at(due);
        timer.async_wait([&](const beast::error_code&) {
            late_us.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - due).count());
            if (late_us.size() < count) {
                arm();
            }
        });
    };
    arm();
    ioc.run();
    std::printf(
        "{\"what\":\"timer\",\"period_ms\":%d,\"ticks\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"max_us\":%.1f}\n",
        period_ms, late_us.size(), percentile(late_us, 0.5), percentile(late_us, 0.99),
        *std::max_element(late_us.begin(), late_us.end()));
    return 0;
}

// CLIENTS clients, each with its own token, read everything URL sends until it closes.
// The same client on an event loop: many connections on one thread, as a client with many
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

// Writes all of `bytes` to `fd` (blocking, or spinning on a non-blocking one); stops quietly when
// the peer is gone, which its reader sees.
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

// How `drain` runs its clients: a thread each, all of them on two event-loop threads, or all of
// them on one thread of LeanClients.
enum class DrainMode { threads, async, lean };

// CLIENTS bare clients at once drain `url` until the replayer closes.
int bench_drain(const std::string& url, int clients, DrainMode mode) {
    const auto port = static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
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

}  // namespace

// CPU time (user and system) the calling thread has used.
double thread_cpu_seconds() {
    rusage r{};
    getrusage(RUSAGE_THREAD, &r);
    const auto secs = [](const timeval& v) {
        return static_cast<double>(v.tv_sec) + static_cast<double>(v.tv_usec) / 1e6;
    };
    return secs(r.ru_utime) + secs(r.ru_stime);
}

// The bare kernel's side of replaying a timed stream to many clients: what `mastotape replay
// --speed 1` does per frame and client, without mastotape, Asio or WebSocket: SENDERS threads
// (the replayer has one event loop) each own every SENDERS-th of CLIENTS loopback TCP
// connections and send each one a frame of the tape (with a WebSocket header) every `period_ms`,
// the connections' due times evenly spread over the period, sleeping until the next is due. One
// more thread drains every connection with epoll, as raw_limits' lean clients do. Lateness is
// each send's start against its due time, the same measure as the replayer's status.
int bench_fanout(int clients, int period_ms, double seconds, int senders, const std::string& tape) {
    std::vector<std::string> frames;
    for (const auto& body : frames_for(0, tape)) {  // a server's text frame: header, body
        std::string f{'\x81'};
        const int length_bytes = body.size() < 126 ? 0 : body.size() < 65536 ? 2 : 8;
        f += static_cast<char>(length_bytes == 0 ? body.size() : length_bytes == 2 ? 126 : 127);
        for (int b = length_bytes - 1; b >= 0; --b) {
            f += static_cast<char>((body.size() >> (8 * b)) & 0xff);
        }
        frames.push_back(f + body);
    }
    if (frames.empty()) {
        throw std::runtime_error(tape + ": no event frames");
    }
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 4096) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("listen: " + std::string(std::strerror(errno)));
    }
    const auto n = static_cast<std::size_t>(clients);
    std::vector<int> client_fds(n);
    std::vector<int> server_fds(n);
    const int epoll = epoll_create1(0);
    for (std::size_t i = 0; i < n; ++i) {
        client_fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client_fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            (server_fds[i] = accept(listener, nullptr, nullptr)) < 0) {
            throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
        }
        const int one = 1;
        setsockopt(server_fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(client_fds[i], F_SETFL, fcntl(client_fds[i], F_GETFL) | O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(epoll, EPOLL_CTL_ADD, client_fds[i], &ev);
    }
    close(listener);

    std::atomic<bool> done{false};
    std::thread reader([&] {
        std::vector<char> buf(256 * 1024);
        std::array<epoll_event, 256> events{};
        while (!done) {
            const int k = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
            for (int j = 0; j < k; ++j) {
                while (recv(client_fds[events[static_cast<std::size_t>(j)].data.u64], buf.data(),
                            buf.size(), 0) > 0) {
                }
            }
        }
    });

    const auto period = std::chrono::milliseconds(period_ms);
    const auto start = Clock::now() + std::chrono::milliseconds(100);
    const auto end =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::vector<double>> late_us(static_cast<std::size_t>(senders));
    std::vector<double> cpu_s(static_cast<std::size_t>(senders));
    std::vector<std::thread> threads;
    for (int t = 0; t < senders; ++t) {
        threads.emplace_back([&, t] {
            auto& late = late_us[static_cast<std::size_t>(t)];
            const double cpu0 = thread_cpu_seconds();
            for (std::int64_t round = 0;; ++round) {
                for (std::size_t i = static_cast<std::size_t>(t); i < n;
                     i += static_cast<std::size_t>(senders)) {
                    const auto due =
                        start + round * period +
                        period * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(n);
                    if (due >= end) {
                        cpu_s[static_cast<std::size_t>(t)] = thread_cpu_seconds() - cpu0;
                        return;
                    }
                    if (due > Clock::now()) {
                        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            due.time_since_epoch())
                                            .count();
                        const timespec at{ns / 1000000000, ns % 1000000000};
                        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) ==
                               EINTR) {
                        }
                    }
                    late.push_back(
                        std::chrono::duration<double, std::micro>(Clock::now() - due).count());
                    const std::string& f = frames[static_cast<std::size_t>(round) % frames.size()];
                    send_all(server_fds[i], f);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    done = true;
    reader.join();
    for (std::size_t i = 0; i < n; ++i) {
        close(server_fds[i]);
        close(client_fds[i]);
    }
    close(epoll);
    std::vector<double> all;
    double cpu = 0;
    for (std::size_t t = 0; t < late_us.size(); ++t) {
        all.insert(all.end(), late_us[t].begin(), late_us[t].end());
        cpu += cpu_s[t];
    }
    std::printf(
        "{\"what\":\"fanout\",\"clients\":%d,\"senders\":%d,\"period_ms\":%d,\"sends\":%zu,"
        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"cpu_us_per_send\":%.2f}\n",
        clients, senders, period_ms, all.size(), percentile(all, 0.5), percentile(all, 0.99),
        *std::max_element(all.begin(), all.end()), cpu * 1e6 / static_cast<double>(all.size()));
    return 0;
}

// COUNT times, one after the other: a new client connects and reads its first message; the time
// from the TCP connect to that message (the tape's size must not show here).
int bench_first(const std::string& url, int count) {
    const auto port = static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
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

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if ((args.size() == 3 || args.size() == 4) && args[0] == "ws") {
            return bench_ws(std::stoul(args[1]), std::stoul(args[2]),
                            args.size() == 4 ? args[3] : "");
        }
        if ((args.size() == 4 || (args.size() == 5 && args[4] == "--table-only")) &&
            args[0] == "sqlite") {
            return bench_sqlite(std::stoul(args[1]), std::stoul(args[2]), args[3],
                                args.size() == 4);
        }
        if (args.size() == 3 && args[0] == "timer") {
            return bench_timer(std::stoi(args[1]), std::stoul(args[2]));
        }
        if (args.size() == 3 && args[0] == "first") {
            return bench_first(args[1], std::stoi(args[2]));
        }
        if (args.size() == 4 && args[0] == "hold") {
            return bench_hold(args[1], std::stoi(args[2]), std::stod(args[3]));
        }
        if ((args.size() == 3 ||
             (args.size() == 4 && (args[3] == "--async" || args[3] == "--lean"))) &&
            args[0] == "drain") {
            const DrainMode mode = args.size() == 3       ? DrainMode::threads
                                   : args[3] == "--async" ? DrainMode::async
                                                          : DrainMode::lean;
            return bench_drain(args[1], std::stoi(args[2]), mode);
        }
        if (args.size() == 6 && args[0] == "fanout") {
            return bench_fanout(std::stoi(args[1]), std::stoi(args[2]), std::stod(args[3]),
                                std::stoi(args[4]), args[5]);
        }
    } catch (const std::exception& e) {
        std::cerr << "raw_limits: " << e.what() << '\n';
        return 1;
    }
    std::cerr
        << "usage: raw_limits ws COUNT SIZE [TAPE] | sqlite COUNT SIZE FILE [--table-only] | timer "
           "PERIOD_MS COUNT "
           "| drain ws://127.0.0.1:PORT CLIENTS [--async|--lean] | first URL COUNT | hold URL "
           "CLIENTS SECS | fanout CLIENTS PERIOD_MS SECS SENDERS TAPE\n";
    return 2;
}
