#pragma once

// A loopback server that plays one script per accepted connection, in order, on the raw socket:
// it can send what no well-behaved server (and so no replayer) would: a binary frame, invalid
// UTF-8 in a text frame, half a frame, a handshake that is not HTTP or not a valid upgrade.
// Connections beyond the scripts are closed at once.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mastotape::test {

// A server-to-client WebSocket frame (unmasked), FIN set unless told otherwise.
inline std::string ws_frame(int opcode, std::string_view payload, bool fin = true) {
    std::string f(1, static_cast<char>((fin ? 0x80 : 0) | opcode));
    const std::size_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(n);
    } else if (n < 65536) {
        f += static_cast<char>(126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xff);
    } else {
        f += static_cast<char>(127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            f += static_cast<char>((n >> shift) & 0xff);
        }
    }
    f += payload;
    return f;
}

class ScriptedServer {
   public:
    // One step of a connection's script, given the socket.
    using Script = std::function<void(ScriptedServer&, int fd)>;

    explicit ScriptedServer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listen_fd_, 8) != 0) {
            throw std::runtime_error("scripted server: cannot listen on loopback");
        }
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptedServer() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;

    int port() const { return port_; }
    std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
    // Connections accepted so far.
    int accepted() const { return accepted_; }

    // Steps for scripts.
    void send(int fd, std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return;  // the client went away; the test's assertions say whether it should
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // The request head (up to the blank line), or what came before the client stopped.
    std::string read_request(int fd) {
        std::string head;
        char c = 0;
        while (head.size() < 65536 && head.find("\r\n\r\n") == std::string::npos &&
               wait_readable(fd, 5000) && ::recv(fd, &c, 1, 0) == 1) {
            head += c;
        }
        return head;
    }
    // Reads the upgrade request and answers 101 as a server must.
    void upgrade(int fd) {
        const std::string head = read_request(fd);
        std::string key;
        const auto at = head.find("Sec-WebSocket-Key: ");
        if (at != std::string::npos) {
            key = head.substr(at + 19, head.find("\r\n", at) - at - 19);
        }
        send(fd,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: " +
                 accept_key(key) + "\r\n\r\n");
    }
    // Reads until the client closes the connection, at most `ms`.
    void read_until_closed(int fd, int ms = 5000) {
        char buf[4096];
        while (wait_readable(fd, ms) && ::recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
    // The payload of the next close frame the client sends (its frames are masked), skipping
    // other frames; nullopt when the client stops or nothing comes for `ms`.
    std::optional<std::string> read_close(int fd, int ms = 5000) {
        std::string in;
        for (;;) {
            while (in.size() >= 2) {
                std::size_t len = static_cast<unsigned char>(in[1]) & 0x7f;
                std::size_t at = 2;
                if (len >= 126) {
                    const std::size_t bytes = len == 126 ? 2 : 8;
                    if (in.size() < 2 + bytes) {
                        break;
                    }
                    len = 0;
                    for (std::size_t i = 0; i < bytes; ++i) {
                        len = len << 8 | static_cast<unsigned char>(in[2 + i]);
                    }
                    at += bytes;
                }
                if (in.size() < at + 4 + len) {
                    break;
                }
                std::string payload = in.substr(at + 4, len);
                for (std::size_t i = 0; i < len; ++i) {
                    payload[i] = static_cast<char>(payload[i] ^ in[at + i % 4]);
                }
                if ((in[0] & 0x0f) == 8) {
                    return payload;
                }
                in.erase(0, at + 4 + len);
            }
            char buf[4096];
            const auto n = wait_readable(fd, ms) ? ::recv(fd, buf, sizeof buf, 0) : 0;
            if (n <= 0) {
                return std::nullopt;
            }
            in.append(buf, static_cast<std::size_t>(n));
        }
    }
    static std::string accept_key(const std::string& key) {
        const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr);
        unsigned char out[64] = {};
        EVP_EncodeBlock(out, digest, static_cast<int>(len));
        return reinterpret_cast<const char*>(out);
    }

   private:
    bool wait_readable(int fd, int ms) {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, ms) > 0;
    }

    void serve() {
        while (!stop_) {
            if (!wait_readable(listen_fd_, 50)) {
                continue;
            }
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) {
                continue;
            }
            const auto i = static_cast<std::size_t>(accepted_++);
            if (i < scripts_.size()) {
                scripts_[i](*this, fd);
            }
            ::close(fd);
        }
    }

    std::vector<Script> scripts_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<int> accepted_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A TCP socket listening on a free loopback port that never accepts.
class SilentListener {
   public:
    SilentListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 8) != 0) {
            throw std::runtime_error("silent listener: cannot listen on loopback");
        }
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~SilentListener() { ::close(fd_); }
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    int port() const { return port_; }

   private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace mastotape::test
