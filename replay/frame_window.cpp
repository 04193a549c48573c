#include "replay/frame_window.hpp"

namespace mastotape::replay {
namespace {

// An evicted frame whose buffer grew past this (a rare big status) is let go instead of read
// into again: kept, it would hold its big buffer for good, and count as big in the window.
constexpr std::size_t kReuseLimit = std::size_t{64} * 1024;

}  // namespace

FrameWindow::FrameWindow(schema::TapeStore& store, std::int64_t session_id, std::size_t max_frames,
                         std::size_t max_bytes)
    : store_(store), session_id_(session_id), max_frames_(max_frames), max_bytes_(max_bytes) {}

SharedFrame FrameWindow::after(std::int64_t seq) {
    if (!frames_.empty()) {
        const std::int64_t front = frames_.front()->seq;
        const std::int64_t back = frames_.back()->seq;
        if (seq < front - 1) {
            return nullptr;  // behind the window
        }
        if (seq < back) {
            return frames_[static_cast<std::size_t>(seq - front + 1)];
        }
        if (seq > back) {
            // In front of the window: it moves there (the connections behind read on their own).
            frames_.clear();
            bytes_ = 0;
            cursor_.reset();
        }
    }
    if (!cursor_) {
        cursor_ = store_.frames_from_seq(session_id_, seq + 1);
    }
    // Read into a frame that left the window unused by anyone, reusing its buffers (a new one
    // each time cost the single client at full speed a tenth of its rate).
    std::shared_ptr<schema::Frame> f =
        spare_ ? std::move(spare_) : std::make_shared<schema::Frame>();
    if (!cursor_->next(*f)) {
        spare_ = std::move(f);
        cursor_.reset();  // a tape still being recorded may have more later
        return nullptr;
    }
    bytes_ += f->bytes.capacity();
    frames_.push_back(f);
    while (frames_.size() > 1 && (frames_.size() > max_frames_ || bytes_ > max_bytes_)) {
        SharedFrame old = std::move(frames_.front());
        frames_.pop_front();
        bytes_ -= old->bytes.capacity();
        if (old.use_count() == 1 && old->bytes.capacity() <= kReuseLimit) {
            spare_ = std::const_pointer_cast<schema::Frame>(std::move(old));  // made non-const
        }
    }
    return f;
}

FrameReader::FrameReader(FrameWindow& window, schema::TapeStore& store, std::int64_t session_id,
                         std::int64_t from_offset_ns)
    : window_(window), store_(store), session_id_(session_id), from_offset_ns_(from_offset_ns) {}

SharedFrame FrameReader::next() {
    if (last_seq_ < 0) {
        // The first frame at or after the offset comes from the time index; it and those after
        // it from the window when they are in it, as for any reader.
        const std::optional<std::int64_t> first = store_.first_seq_at(session_id_, from_offset_ns_);
        if (!first) {
            return nullptr;  // none yet: a tape still being recorded may have it later
        }
        last_seq_ = *first - 1;
    }
    if (auto f = window_.after(last_seq_)) {
        own_.reset();
        last_seq_ = f->seq;
        return f;
    }
    if (!own_) {
        own_ = store_.frames_from_seq(session_id_, last_seq_ + 1);
    }
    return own_next();
}

SharedFrame FrameReader::own_next() {
    schema::Frame f;
    if (!own_->next(f)) {
        own_.reset();
        return nullptr;
    }
    last_seq_ = f.seq;
    return std::make_shared<const schema::Frame>(std::move(f));
}

}  // namespace mastotape::replay
