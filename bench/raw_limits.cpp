// The machine's raw limits, measured in the same run as mastotape, so that mastotape's figures
// can be given as ratios (bench/run.sh). Nothing of mastotape is used here: bare Beast, bare
// SQLite, a bare Asio timer, and a bare draining client for the replayer.
//
//   raw_limits ws COUNT SIZE            bare Beast server -> bare Beast client on loopback
//   raw_limits sqlite COUNT SIZE FILE   batched inserts of COUNT frames with the tape's pragmas
//   raw_limits timer PERIOD_MS COUNT    lateness of a periodic steady_timer
//   raw_limits drain URL CLIENTS        CLIENTS WebSocket clients drain URL until it closes
//
// Each prints one JSON object on stdout.

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
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

int bench_ws(std::size_t count, std::size_t size) {
    net::io_context server_ioc;
    tcp::acceptor acceptor(server_ioc, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::thread server([&] {
        tcp::socket socket(server_ioc);
        acceptor.accept(socket);
        socket.set_option(tcp::no_delay(true));
        websocket::stream<tcp::socket> ws(std::move(socket));
        ws.accept();
        const std::string msg = frame_of_size(size, 1);
        ws.text(true);
        for (std::size_t i = 0; i < count; ++i) {
            ws.write(net::buffer(msg));
        }
        ws.close(websocket::close_code::normal);
    });
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"), port});
    websocket::stream<tcp::socket> ws(std::move(socket));
    ws.handshake("127.0.0.1", "/");
    beast::flat_buffer buffer;
    std::size_t got = 0;
    const auto t0 = Clock::now();
    for (;;) {
        beast::error_code ec;
        ws.read(buffer, ec);
        if (ec) {
            break;
        }
        buffer.consume(buffer.size());
        ++got;
    }
    const double secs = seconds_since(t0);
    server.join();
    std::printf("{\"what\":\"ws\",\"size\":%zu,\"messages\":%zu,\"seconds\":%.4f,\"per_s\":%.0f}\n",
                size, got, secs, static_cast<double>(got) / secs);
    return got == count ? 0 : 1;
}

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::fprintf(stderr, "sqlite: %s: %s\n", sql, err);
        std::exit(1);
    }
}

// The tape's frames table, indexes and pragmas, filled the way the recorder's writer fills it:
// prepared inserts, 1,000 rows a transaction.
int bench_sqlite(std::size_t count, std::size_t size, const std::string& path) {
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
    exec(db, "CREATE UNIQUE INDEX frames_by_seq ON frames (session_id, seq)");
    exec(db, "CREATE INDEX frames_by_time ON frames (session_id, offset_ns)");
    exec(db, "CREATE INDEX frames_by_kind ON frames (session_id, kind, offset_ns)");
    exec(db, "CREATE INDEX frames_by_event ON frames (session_id, event)");
    exec(db, "CREATE INDEX frames_by_object ON frames (object_id) WHERE object_id IS NOT NULL");
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
    std::printf("{\"what\":\"sqlite\",\"size\":%zu,\"rows\":%zu,\"seconds\":%.4f,\"per_s\":%.0f}\n",
                size, count, secs, static_cast<double>(count) / secs);
    return 0;
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
int bench_drain(const std::string& url, int clients) {
    const auto colon = url.rfind(':');
    const std::string host = "127.0.0.1";
    const auto port = static_cast<unsigned short>(std::stoi(url.substr(colon + 1)));
    std::atomic<std::size_t> total{0};
    std::atomic<std::size_t> bytes{0};
    std::vector<double> per_client_s(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    const int thread_count = std::min(clients, 2);
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            net::io_context ioc;
            for (int c = t; c < clients; c += thread_count) {
                net::co_spawn(
                    ioc,
                    [&, c]() -> net::awaitable<void> {
                        websocket::stream<tcp::socket> ws(ioc);
                        co_await ws.next_layer().async_connect({net::ip::make_address(host), port},
                                                               net::use_awaitable);
                        ws.set_option(
                            websocket::stream_base::decorator([c](websocket::request_type& req) {
                                req.set(beast::http::field::authorization,
                                        "Bearer drain-" + std::to_string(c));
                            }));
                        co_await ws.async_handshake(host, "/api/v1/streaming?stream=public",
                                                    net::use_awaitable);
                        beast::flat_buffer buffer;
                        for (;;) {
                            auto [ec, n] =
                                co_await ws.async_read(buffer, net::as_tuple(net::use_awaitable));
                            if (ec) {
                                break;
                            }
                            bytes += n;
                            buffer.consume(buffer.size());
                            ++total;
                        }
                        per_client_s[static_cast<std::size_t>(c)] = seconds_since(t0);
                    },
                    net::detached);
            }
            ioc.run();
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double secs = *std::max_element(per_client_s.begin(), per_client_s.end());
    std::printf(
        "{\"what\":\"drain\",\"clients\":%d,\"messages\":%zu,\"bytes\":%zu,\"seconds\":%.4f,"
        "\"per_s\":%.0f}\n",
        clients, total.load(), bytes.load(), secs, static_cast<double>(total.load()) / secs);
    return total.load() > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 3 && args[0] == "ws") {
            return bench_ws(std::stoul(args[1]), std::stoul(args[2]));
        }
        if (args.size() == 4 && args[0] == "sqlite") {
            return bench_sqlite(std::stoul(args[1]), std::stoul(args[2]), args[3]);
        }
        if (args.size() == 3 && args[0] == "timer") {
            return bench_timer(std::stoi(args[1]), std::stoul(args[2]));
        }
        if (args.size() == 3 && args[0] == "drain") {
            return bench_drain(args[1], std::stoi(args[2]));
        }
    } catch (const std::exception& e) {
        std::cerr << "raw_limits: " << e.what() << '\n';
        return 1;
    }
    std::cerr << "usage: raw_limits ws COUNT SIZE | sqlite COUNT SIZE FILE | timer PERIOD_MS COUNT "
                 "| drain ws://127.0.0.1:PORT CLIENTS\n";
    return 2;
}
