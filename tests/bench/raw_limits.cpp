// The machine's raw limits, measured in the same run as mastotape, so that mastotape's figures
// can be given as ratios (tests/bench/run.sh). Nothing of mastotape is used here: bare Beast, bare
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

#include <fcntl.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/bare_clients.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace raw_limits;

namespace {

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

// CPU time (user and system) the calling thread has used.
double thread_cpu_seconds() {
    rusage r{};
    getrusage(RUSAGE_THREAD, &r);
    const auto secs = [](const timeval& v) {
        return static_cast<double>(v.tv_sec) + static_cast<double>(v.tv_usec) / 1e6;
    };
    return secs(r.ru_utime) + secs(r.ru_stime);
}

// Each of the tape's event frames (see frames_for) as a server sends it: a WebSocket text
// frame's header, then the body.
std::vector<std::string> server_text_frames(const std::string& tape) {
    std::vector<std::string> frames;
    for (const auto& body : frames_for(0, tape)) {
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
    return frames;
}

// `n` loopback TCP connections: the server ends (TCP_NODELAY) and the client ends (non-blocking,
// each in `epoll` with its index).
struct LoopbackPairs {
    std::vector<int> client_fds;
    std::vector<int> server_fds;
};

LoopbackPairs connect_pairs(std::size_t n, int epoll) {
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
    LoopbackPairs p{std::vector<int>(n), std::vector<int>(n)};
    for (std::size_t i = 0; i < n; ++i) {
        p.client_fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(p.client_fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            (p.server_fds[i] = accept(listener, nullptr, nullptr)) < 0) {
            throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
        }
        const int one = 1;
        setsockopt(p.server_fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(p.client_fds[i], F_SETFL, fcntl(p.client_fds[i], F_GETFL) | O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(epoll, EPOLL_CTL_ADD, p.client_fds[i], &ev);
    }
    close(listener);
    return p;
}

void sleep_until(Clock::time_point due) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
    const timespec at{ns / 1000000000, ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
    }
}

// The bare kernel's side of replaying a timed stream to many clients: what `mastotape replay
// --speed 1` does per frame and client, without mastotape, Asio or WebSocket: SENDERS threads
// (the replayer has one event loop) each own every SENDERS-th of CLIENTS loopback TCP
// connections and send each one a frame of the tape (with a WebSocket header) every `period_ms`,
// the connections' due times evenly spread over the period, sleeping until the next is due. One
// more thread drains every connection with epoll, as raw_limits' lean clients do. Lateness is
// each send's start against its due time, the same measure as the replayer's status.
int bench_fanout(int clients, int period_ms, double seconds, int senders, const std::string& tape) {
    const std::vector<std::string> frames = server_text_frames(tape);
    const auto n = static_cast<std::size_t>(clients);
    const int epoll = epoll_create1(0);
    const auto [client_fds, server_fds] = connect_pairs(n, epoll);

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
                        sleep_until(due);
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

}  // namespace

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
