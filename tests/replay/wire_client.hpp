#pragma once

// A replay test's client side, at the wire: tapes made for a test, bare HTTP and WebSocket
// clients over raw sockets (what the server sent, byte for byte, as it came), and the JSON of
// the control API. Shared by the replayer's test files.

#include <SQLiteCpp/SQLiteCpp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/ops/synth.hpp"
#include "schema/tape/tape_store.hpp"
#include "tests/test_support.hpp"

namespace mastotape::test {

inline std::string make_tape(const TempDir& dir, schema::SynthOptions o,
                             const std::string& name = "tape.db") {
    const auto path = dir.file(name);
    schema::TapeStore store(path, schema::OpenMode::create);
    schema::synthesize(store, o);
    return path;
}

// What a bare WebSocket client that never answers the close receives on /api/v1/streaming?QUERY:
// it reads until the 2 s receive timeout.
inline std::string upgrade_and_read(std::uint16_t port, const std::string& query) {
    return raw_http(port, "GET /api/v1/streaming?" + query +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: "
                              "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n");
}

struct WireFrame {
    bool fin = false;
    bool masked = false;
    int opcode = 0;
    std::string payload;
};

// The WebSocket frames after the 101 response in `wire`, exactly as they came; fails the test
// on a truncated frame.
inline std::vector<WireFrame> frames_on_wire(const std::string& wire) {
    REQUIRE_THAT(wire, Catch::StartsWith("HTTP/1.1 101"));
    std::vector<WireFrame> out;
    std::size_t pos = wire.find("\r\n\r\n") + 4;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(wire[i]); };
    while (pos + 2 <= wire.size()) {
        WireFrame f;
        f.fin = (byte(pos) & 0x80) != 0;
        f.opcode = byte(pos) & 0x0f;
        f.masked = (byte(pos + 1) & 0x80) != 0;
        std::uint64_t n = byte(pos + 1) & 0x7f;
        pos += 2;
        const std::size_t extra = n == 126 ? 2 : n == 127 ? 8 : 0;
        REQUIRE(pos + extra <= wire.size());
        if (extra > 0) {
            n = 0;
            for (std::size_t i = 0; i < extra; ++i) {
                n = (n << 8) | byte(pos + i);
            }
            pos += extra;
        }
        REQUIRE(pos + n <= wire.size());
        f.payload = wire.substr(pos, n);
        pos += n;
        out.push_back(std::move(f));
    }
    CHECK(pos == wire.size());
    return out;
}

// A client connection driven by hand over a raw socket: what the server sent, as it came, read
// with a deadline that leaves the connection usable (a test can look, move the clock, look again).
class RawConn {
   public:
    // `receive_buffer`: the socket's receive buffer in bytes, set before it connects (a small one
    // makes the server's kernel hold what the client has not read); 0 leaves the default.
    explicit RawConn(std::uint16_t port, int receive_buffer = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (receive_buffer > 0) {
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~RawConn() { ::close(fd_); }
    RawConn(const RawConn&) = delete;
    RawConn& operator=(const RawConn&) = delete;

    void send(std::string_view bytes) const {
        REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(bytes.size()));
    }
    // Reads what arrives within `seconds` (at least until then, or the end); false at the end.
    bool fill(double seconds) {
        if (ended_) {
            return false;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(seconds * 1000)) <= 0) {
            return true;
        }
        char buf[65536];
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            ended_ = true;
            return false;
        }
        data_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    // Waits up to `seconds` for `needle` in what came; true when it came.
    bool wait_for(std::string_view needle, double seconds = 5) {
        const auto until = std::chrono::steady_clock::now() + to_duration(seconds);
        while (data_.find(needle) == std::string::npos) {
            const double left = remaining(until);
            if (left <= 0 || !fill(left)) {
                return data_.find(needle) != std::string::npos;
            }
        }
        return true;
    }
    // Waits up to `seconds` for the server to end the connection; true when it did.
    bool wait_end(double seconds = 5) {
        const auto until = std::chrono::steady_clock::now() + to_duration(seconds);
        while (!ended_ && remaining(until) > 0) {
            fill(remaining(until));
        }
        return ended_;
    }
    // Reads until nothing more comes for `quiet` seconds (or the end).
    void settle(double quiet = 0.3) {
        std::size_t seen = 0;
        do {
            seen = data_.size();
            fill(quiet);
        } while (data_.size() != seen && !ended_);
    }
    std::string& data() { return data_; }
    bool ended() const { return ended_; }

   protected:
    static std::chrono::steady_clock::duration to_duration(double seconds) {
        return std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
    }
    static double remaining(std::chrono::steady_clock::time_point until) {
        return std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
    }

    int fd_ = -1;
    std::string data_;
    bool ended_ = false;
};

// A WebSocket client over RawConn: it answers nothing by itself (no pongs unless told), so a test
// sees every frame and decides every answer.
class RawWs : public RawConn {
   public:
    RawWs(std::uint16_t port, const std::string& query, const std::string& headers = "",
          int receive_buffer = 0)
        : RawConn(port, receive_buffer) {
        send("GET /api/v1/streaming?" + query +
             " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
             headers + "\r\n");
        REQUIRE(wait_for("\r\n\r\n"));
        const auto end = data_.find("\r\n\r\n") + 4;
        response_ = data_.substr(0, end);
        data_.erase(0, end);
    }
    const std::string& response() const { return response_; }
    bool upgraded() const { return response_.rfind("HTTP/1.1 101", 0) == 0; }

    // The next frame, or nullopt when none came within `seconds` or the connection ended.
    std::optional<WireFrame> next(double seconds = 5) {
        const auto until = std::chrono::steady_clock::now() + to_duration(seconds);
        for (;;) {
            if (auto f = parse()) {
                return f;
            }
            const double left = remaining(until);
            if (left <= 0 || !fill(left)) {
                return parse();
            }
        }
    }
    // Frames until none comes for `quiet` seconds or the connection ends.
    std::vector<WireFrame> drain(double quiet = 1) {
        std::vector<WireFrame> out;
        while (auto f = next(quiet)) {
            out.push_back(std::move(*f));
        }
        return out;
    }
    // Frames up to and including the server's close frame; fails the test when the connection
    // ends or goes quiet for `seconds` before one came. Unlike drain(), this does not guess from
    // a quiet moment that the tape is over (the replayer may be waiting a second for a subscribe).
    std::vector<WireFrame> until_close(double seconds = 30) {
        std::vector<WireFrame> out;
        while (auto f = next(seconds)) {
            out.push_back(std::move(*f));
            if (out.back().opcode == 8) {
                return out;
            }
        }
        FAIL("no close frame came");
        return out;
    }
    // Sends one masked frame, as a client must.
    void send_frame(int opcode, std::string_view payload) {
        std::string frame(1, static_cast<char>(0x80 | opcode));
        const std::size_t n = payload.size();
        if (n < 126) {
            frame += static_cast<char>(0x80 | n);
        } else {
            frame += static_cast<char>(0x80 | 126);
            frame += static_cast<char>(n >> 8);
            frame += static_cast<char>(n & 0xff);
        }
        const std::array<char, 4> mask{'\x11', '\x22', '\x33', '\x44'};
        frame.append(mask.data(), mask.size());
        for (std::size_t i = 0; i < n; ++i) {
            frame += static_cast<char>(payload[i] ^ mask[i % 4]);
        }
        send(frame);
    }

   private:
    std::optional<WireFrame> parse() {
        const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(data_[i]); };
        if (data_.size() < 2) {
            return std::nullopt;
        }
        std::uint64_t n = byte(1) & 0x7f;
        const std::size_t extra = n == 126 ? 2 : n == 127 ? 8 : 0;
        if (data_.size() < 2 + extra) {
            return std::nullopt;
        }
        if (extra > 0) {
            n = 0;
            for (std::size_t i = 0; i < extra; ++i) {
                n = (n << 8) | byte(2 + i);
            }
        }
        if (data_.size() < 2 + extra + n) {
            return std::nullopt;
        }
        WireFrame f;
        f.fin = (byte(0) & 0x80) != 0;
        f.opcode = byte(0) & 0x0f;
        f.masked = (byte(1) & 0x80) != 0;
        f.payload = data_.substr(2 + extra, n);
        data_.erase(0, 2 + extra + n);
        if (f.opcode == 8 && !ended_) {
            send_frame(8, f.payload.substr(0, 2));  // the closing handshake, as clients answer
        }
        return f;
    }

    std::string response_;
};

// The JSON body of an HTTP answer, and its status through `status`.
inline nlohmann::json json_of(const std::string& res, int* status) {
    if (status != nullptr) {
        *status = std::stoi(res.substr(9, 3));
    }
    return nlohmann::json::parse(res.substr(res.find("\r\n\r\n") + 4));
}

// A GET of the replayer's HTTP API; returns the body, and the status line through `status`.
inline nlohmann::json get_json(std::uint16_t port, const std::string& target,
                               int* status = nullptr) {
    return json_of(http_get(port, target), status);
}

// A POST to the control API (what changes the replay); as get_json.
inline nlohmann::json post_json(std::uint16_t port, const std::string& target,
                                int* status = nullptr) {
    return json_of(http_post(port, target), status);
}

// The chunks of the chunked body after the head at the start of `wire`, as they came (a chunk
// still arriving is left out); `ended` says whether the last chunk came. Fails the test on a
// malformed chunk.
inline std::vector<std::string> body_chunks(const std::string& wire, bool* ended = nullptr) {
    const auto head_end = wire.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    std::string_view body = std::string_view(wire).substr(head_end + 4);
    std::vector<std::string> out;
    for (;;) {
        const auto line = body.find("\r\n");
        if (line == std::string_view::npos) {
            break;
        }
        const std::size_t size = std::stoul(std::string(body.substr(0, line)), nullptr, 16);
        if (size == 0) {
            if (ended != nullptr) {
                *ended = true;
            }
            break;
        }
        if (body.size() < line + 2 + size + 2) {
            break;
        }
        out.emplace_back(body.substr(line + 2, size));
        REQUIRE(body.substr(line + 2 + size, 2) == "\r\n");
        body.remove_prefix(line + 2 + size + 2);
    }
    return out;
}

// The chunked body after the head at the start of `wire`, its chunks joined.
inline std::string sse_body(const std::string& wire) {
    std::string out;
    for (const auto& c : body_chunks(wire)) {
        out += c;
    }
    return out;
}

// Every frame of session 1 of the tape at `path`, in order.
inline std::vector<schema::Frame> tape_frames(const std::string& path) {
    schema::TapeStore store(path, schema::OpenMode::read);
    std::vector<schema::Frame> out;
    auto cursor = store.frames_from_seq(1, 1);
    schema::Frame f;
    while (cursor.next(f)) {
        out.push_back(f);
    }
    return out;
}

// The opcode a tape frame goes out with on a WebSocket.
inline int opcode_of(const schema::Frame& f) {
    return f.columns.kind == schema::FrameKind::ping     ? 9
           : f.columns.kind == schema::FrameKind::binary ? 2
                                                         : 1;
}

// The next frame on `ws` is tape frame `f`, as recorded.
inline void expect_frame(RawWs& ws, const schema::Frame& f) {
    const auto w = ws.next();
    INFO("tape frame " << f.seq);
    REQUIRE(w);
    CHECK(w->opcode == opcode_of(f));
    CHECK(w->payload == f.bytes);
}

// A close frame's payload: the code, then the reason.
inline std::string close_payload(int code, const std::string& reason = "") {
    return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)} + reason;
}

// The payloads of the text frames among `frames`.
inline std::vector<std::string> texts_of(const std::vector<WireFrame>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) {
        if (f.opcode == 1) {
            out.push_back(f.payload);
        }
    }
    return out;
}

// The bytes of the tape's events among `frames`.
inline std::vector<std::string> event_bytes(const std::vector<schema::Frame>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) {
        if (f.columns.kind == schema::FrameKind::event) {
            out.push_back(f.bytes);
        }
    }
    return out;
}

// The control API's tape position in a status or clock answer.
inline std::int64_t offset_of(const nlohmann::json& j) {
    return j.at("tape_offset_ns").get<std::int64_t>();
}

}  // namespace mastotape::test
