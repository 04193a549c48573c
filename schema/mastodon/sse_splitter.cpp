#include "schema/mastodon/sse_splitter.hpp"

namespace mastotape::schema {

void SseSplitter::feed(std::string_view bytes) {
    if (start_ > 0 && start_ * 2 >= pending_.size()) {
        // Returned frames are dropped once they are at least half the buffer: amortized linear.
        pending_.erase(0, start_);
        start_ = 0;
    }
    pending_.append(bytes);
}

std::optional<std::string> SseSplitter::next() {
    const std::string_view rest = std::string_view(pending_).substr(start_);
    if (rest.empty()) {
        return std::nullopt;
    }
    if (rest.front() == ':' || rest.front() == '\n') {
        const auto eol = rest.find('\n', scanned_);
        if (eol == std::string_view::npos) {
            scanned_ = rest.size();
            return std::nullopt;
        }
        std::size_t end = eol + 1;
        // A comment takes the blank line after it when that has arrived (else that line is a
        // frame of its own), as the recorder has always stored them.
        if (rest.front() == ':' && end < rest.size() && rest[end] == '\n') {
            ++end;
        }
        return take(end);
    }
    // An event block ends at the first blank line; a search resumes one byte before where the
    // last one stopped, since "\n\n" may straddle two reads.
    const std::size_t from = scanned_ > 0 ? scanned_ - 1 : 0;
    const auto blank = rest.find("\n\n", from);
    if (blank == std::string_view::npos) {
        scanned_ = rest.size();
        return std::nullopt;
    }
    return take(blank + 2);
}

std::string SseSplitter::take(std::size_t end) {
    std::string out = pending_.substr(start_, end);
    start_ += end;
    scanned_ = 0;
    if (start_ == pending_.size()) {
        pending_.clear();
        start_ = 0;
    }
    return out;
}

}  // namespace mastotape::schema
