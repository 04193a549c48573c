// Uses the installed <mastotape/replayer.hpp> as a user's C++ test would: runs the README's C++
// example as written (from the working directory, which has fixtures/), then replays the JSONL
// fixture given as argv[1] on a virtual clock, reads what an SSE client gets as the clock moves,
// and checks the status and the report. Prints what failed and exits 1; prints "ok" otherwise.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <mastotape/replayer.hpp>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

void expect(bool ok, const std::string& what) {
    if (!ok) {
        throw std::runtime_error("expected " + what);
    }
}

// An SSE client on /api/v1/streaming/direct.
class SseClient {
   public:
    explicit SseClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        expect(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
               "to connect to the replayer's port");
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const std::string request =
            "GET /api/v1/streaming/direct HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer consumer-token\r\n\r\n";
        ::send(fd_, request.data(), request.size(), 0);
    }
    ~SseClient() { ::close(fd_); }

    // Reads until `text` has come (true) or 5 s pass with nothing (false).
    bool read_until(const std::string& text) {
        char buf[4096];
        while (received_.find(text) == std::string::npos) {
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                return false;
            }
            received_.append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }
    const std::string& received() const { return received_; }

   private:
    int fd_;
    std::string received_;
};

// What the README's example takes for granted: a client under test and a test framework's check.
class ReadmeClient {
   public:
    void connect(const std::string& url) {
        const auto port_at = url.rfind(':') + 1;
        const auto path_at = url.find('/', port_at);
        expect(url.substr(path_at) == "/api/v1/streaming/direct", "the SSE route, got " + url);
        sse_ = std::make_unique<SseClient>(
            static_cast<std::uint16_t>(std::stoi(url.substr(port_at, path_at - port_at))));
    }

   private:
    std::unique_ptr<SseClient> sse_;
};

#define CHECK_FALSE(x) expect(!(x), #x " to be false")

void readme_example(ReadmeClient& client) {
#include "readme_example.inc"
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: consumer FIXTURE.jsonl\n";
        return 2;
    }
    try {
        ReadmeClient readme_client;
        readme_example(readme_client);
        mastotape::ReplayerOptions options;
        options.tape = argv[1];
        mastotape::Replayer replayer(options);
        expect(replayer.url() == "ws://127.0.0.1:" + std::to_string(replayer.port()),
               "url() to be ws://127.0.0.1:PORT, got " + replayer.url());
        SseClient client(replayer.port());
        expect(client.read_until("\r\n\r\n"), "the SSE response head");
        expect(client.received().rfind("HTTP/1.1 200", 0) == 0, "200, got " + client.received());
        // The virtual clock stands still at the connection's handshake (45.8 ms); the fixture's
        // first event is 8.08 s in.
        const std::int64_t at = replayer.advance_ms(10'000);
        expect(at == 10'045'827'144, "the tape at 10.0458 s, got " + std::to_string(at) + " ns");
        expect(client.read_until("event: conversation\n"),
               "the first event after 10 s, got " + client.received() + replayer.status_json());
        const std::string status = replayer.status_json();
        expect(status.find("\"clock\":\"virtual\"") != std::string::npos &&
                   status.find("\"live_connections\":1") != std::string::npos,
               "a virtual clock and one live connection in the status, got " + status);
        const mastotape::ReplayerReport report = replayer.stop();
        expect(report.verdicts.size() == 1, "one client in the report, got " + report.json);
        expect(report.json.find("\"clients\"") != std::string::npos, "a report document");
        std::cout << "ok: " << report.verdicts.front() << '\n';
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "consumer: " << e.what() << '\n';
        return 1;
    }
}
