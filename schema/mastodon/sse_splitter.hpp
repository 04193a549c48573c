#pragma once

// Splits an SSE response body into the frames a tape stores: a comment line (with the blank line
// right after it, when that has arrived) or an event block ending in a blank line. Concatenated,
// the frames are the body. Each byte is scanned once however the body is cut into reads, so a
// line that never ends costs linear time until the caller's size limit stops it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

class SseSplitter {
   public:
    // Appends bytes as they arrive.
    void feed(std::string_view bytes);
    // The next whole frame, or nullopt until more bytes arrive.
    std::optional<std::string> next();
    // Bytes fed and not yet returned as a frame.
    std::size_t buffered() const { return pending_.size() - start_; }

   private:
    std::string take(std::size_t end);

    std::string pending_;
    std::size_t start_ = 0;    // where the next frame begins in pending_
    std::size_t scanned_ = 0;  // bytes from start_ already searched for the frame's end
};

}  // namespace mastotape::schema
