// libFuzzer: the SSE splitter. Whatever the body and however it is cut into reads, the frames
// concatenated are the body (less what is still buffered), and every cut gives the same frames
// but for one thing, by design: a comment takes the blank line after it only when that line has
// arrived with it.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "schema/mastodon/sse_splitter.hpp"

namespace {

std::vector<std::string> split(std::string_view body, std::size_t step, std::size_t& buffered) {
    mastotape::schema::SseSplitter splitter;
    std::vector<std::string> frames;
    for (std::size_t at = 0; at < body.size(); at += step) {
        splitter.feed(body.substr(at, step));
        while (auto f = splitter.next()) {
            frames.push_back(std::move(*f));
        }
    }
    buffered = splitter.buffered();
    return frames;
}

// The frames with each comment's blank line as a frame of its own.
std::vector<std::string> comments_apart(const std::vector<std::string>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) {
        if (f.size() >= 2 && f.front() == ':' && f.compare(f.size() - 2, 2, "\n\n") == 0) {
            out.push_back(f.substr(0, f.size() - 1));
            out.emplace_back("\n");
        } else {
            out.push_back(f);
        }
    }
    return out;
}

std::string joined(const std::vector<std::string>& frames) {
    std::string out;
    for (const auto& f : frames) {
        if (f.empty()) {
            std::abort();  // a frame has bytes
        }
        out += f;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    // The first byte chooses how the rest is cut into reads.
    const std::size_t step = 1 + data[0] % 17;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::size_t buffered_whole = 0;
    std::size_t buffered_cut = 0;
    const auto whole = split(body, body.size() + 1, buffered_whole);
    const auto cut = split(body, step, buffered_cut);
    const std::string_view taken = body.substr(0, body.size() - buffered_whole);
    if (joined(whole) != taken || joined(cut) != taken || buffered_cut != buffered_whole ||
        comments_apart(cut) != comments_apart(whole)) {
        std::abort();
    }
    return 0;
}
