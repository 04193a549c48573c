#include "schema/mastodon/sse_splitter.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using mastotape::schema::SseSplitter;

namespace {

// The frames of `body` fed in pieces of `step` bytes.
std::vector<std::string> split(const std::string& body, std::size_t step) {
    SseSplitter s;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < body.size(); i += step) {
        s.feed(std::string_view(body).substr(i, step));
        while (auto f = s.next()) {
            out.push_back(*f);
        }
    }
    return out;
}

const std::string kBody =
    ":)\n"
    "event: update\ndata: {\"id\":\"1\"}\n\n"
    ":thump\n\n"
    "event: delete\ndata: 1\n\n"
    "event: notification\ndata: {\"a\":\n\n";

}  // namespace

TEST_CASE("SSE frames come out the same however the body is cut, byte by byte included") {
    const std::vector<std::string> expected{
        ":)\n",
        "event: update\ndata: {\"id\":\"1\"}\n\n",
        ":thump\n\n",
        "event: delete\ndata: 1\n\n",
        "event: notification\ndata: {\"a\":\n\n",
    };
    CHECK(split(kBody, kBody.size()) == expected);
    for (std::size_t step = 1; step <= 9; ++step) {
        INFO("step " << step);
        auto frames = split(kBody, step);
        std::string joined;
        for (const auto& f : frames) {
            joined += f;
        }
        CHECK(joined == kBody);  // concatenated, the frames are the body
        CHECK(frames.back() == expected.back());
        CHECK(frames.front() == expected.front());
    }
    // Whole events arrive whole whatever the cut; a comment's blank line may be its own frame
    // when it comes in a later read.
    const auto by_byte = split(kBody, 1);
    const std::vector<std::string> expected_by_byte{
        ":)\n",
        "event: update\ndata: {\"id\":\"1\"}\n\n",
        ":thump\n",
        "\n",
        "event: delete\ndata: 1\n\n",
        "event: notification\ndata: {\"a\":\n\n",
    };
    CHECK(by_byte == expected_by_byte);
}

TEST_CASE("An unfinished event stays buffered and counted until its blank line comes") {
    SseSplitter s;
    s.feed("event: update\ndata: x\n");
    CHECK_FALSE(s.next().has_value());
    CHECK(s.buffered() == 22);
    s.feed("\n:thump");
    CHECK(s.next() == std::optional<std::string>("event: update\ndata: x\n\n"));
    CHECK_FALSE(s.next().has_value());
    CHECK(s.buffered() == 6);
    s.feed("\n");
    CHECK(s.next() == std::optional<std::string>(":thump\n"));
    CHECK(s.buffered() == 0);
}

TEST_CASE("A line that never ends costs linear time, not a rescan per read") {
    SseSplitter s;
    s.feed("data: ");
    const std::string piece(1024, 'x');
    // 64 MiB in 1 KiB reads: quadratic rescanning would be ~2^35 byte compares (minutes);
    // a linear splitter takes a fraction of a second.
    for (int i = 0; i < 64 * 1024; ++i) {
        s.feed(piece);
        REQUIRE_FALSE(s.next().has_value());
    }
    CHECK(s.buffered() == 6 + 64u * 1024 * 1024);
}
