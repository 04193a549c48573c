// A client's reconnects against the replayer: only the tape ends a recorded connection. A client
// that leaves and comes back goes on with the same recorded connection where the replay clock
// stands, having lost what came meanwhile, as from a real server (issue 17, item 1).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

#include "schema/ops/synth.hpp"
#include "tests/replay/running_replay.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

// The tape's events as their SSE `data:` line and their WebSocket frame, in order.
struct TapeEvent {
    std::string frame;
    std::string data_line;
};

std::vector<TapeEvent> tape_events(const std::string& path) {
    std::vector<TapeEvent> out;
    for (const auto& f : tape_frames(path)) {
        if (f.columns.kind == schema::FrameKind::event) {
            const auto envelope = nlohmann::json::parse(f.bytes);
            out.push_back({f.bytes, "data: " + envelope["payload"].get<std::string>() + "\n"});
        }
    }
    return out;
}

// Which of the tape's events one connection received, by index, in order.
class Connection {
   public:
    Connection(std::uint16_t port, bool sse, const std::string& token) {
        if (sse) {
            sse_ = std::make_unique<RawConn>(port);
            sse_->send("GET /api/v1/streaming/user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       token + "\r\n\r\n");
            REQUIRE(sse_->wait_for("\r\n\r\n"));
            head_ = sse_->data().substr(0, sse_->data().find("\r\n\r\n"));
        } else {
            ws_ = std::make_unique<RawWs>(port, "stream=user",
                                          "Authorization: Bearer " + token + "\r\n");
            head_ = ws_->response();
        }
    }
    const std::string& head() const { return head_; }

    // Reads for `seconds`, or until the server ends the connection.
    void read_for(double seconds) {
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(static_cast<int>(seconds * 1000));
        while (std::chrono::steady_clock::now() < until) {
            if (sse_) {
                if (!sse_->fill(0.05)) {
                    return;
                }
            } else if (auto f = ws_->next(0.05)) {
                frames_.push_back(f->payload);
            } else if (ws_->ended()) {
                return;
            }
        }
    }
    // The indices into `events` of those received.
    std::vector<std::size_t> received(const std::vector<TapeEvent>& events) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < events.size(); ++i) {
            const bool got =
                sse_ ? sse_->data().find(events[i].data_line) != std::string::npos
                     : std::find(frames_.begin(), frames_.end(), events[i].frame) != frames_.end();
            if (got) {
                out.push_back(i);
            }
        }
        return out;
    }

   private:
    std::unique_ptr<RawConn> sse_;
    std::unique_ptr<RawWs> ws_;
    std::vector<std::string> frames_;
    std::string head_;
};

}  // namespace

TEST_CASE("A client that leaves and comes back goes on with the same recorded connection") {
    TempDir dir;
    schema::SynthOptions so;
    so.events = 40;
    so.rate = 10;  // about 4 s, on one recorded connection
    replay::ReplayOptions o;
    o.tape = make_tape(dir, so);
    const auto events = tape_events(o.tape);
    REQUIRE(events.size() == 40);
    const bool sse = GENERATE(false, true);
    INFO((sse ? "SSE" : "WebSocket"));
    RunningReplay replay(o);

    std::vector<std::size_t> before;
    {
        Connection first(replay.port(), sse, "tok-a");
        first.read_for(1.0);
        before = first.received(events);
    }  // the client goes: its socket closes
    REQUIRE_FALSE(before.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));

    // Before, the tape's one connection counted as played: 503 "the tape has ended".
    Connection again(replay.port(), sse, "tok-a");
    CHECK_THAT(again.head(), Catch::StartsWith(sse ? "HTTP/1.1 200" : "HTTP/1.1 101"));
    again.read_for(8.0);  // to the tape's end
    const auto after = again.received(events);
    REQUIRE_FALSE(after.empty());
    // It went on where the clock stood: what came while it was away is lost, the rest came.
    CHECK(after.front() > before.back() + 1);
    CHECK(after.back() == events.size() - 1);
    for (std::size_t i = 1; i < after.size(); ++i) {
        CHECK(after[i] == after[i - 1] + 1);
    }

    // Another token is another client, with the whole tape.
    Connection other(replay.port(), sse, "tok-b");
    other.read_for(1.0);
    const auto fresh = other.received(events);
    REQUIRE_FALSE(fresh.empty());
    CHECK(fresh.front() == 0);
}
