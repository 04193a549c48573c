#pragma once

// Where the connections of a replay read the tape's frames. With each client on its own clock,
// a thousand clients are a thousand readers of the same rows, a few seconds apart: each stepping
// its own SQLite cursor and copying each row out of it cost a fifth of the replayer's time. The
// connection in front reads each frame once into a window of the most recent ones, and every
// connection close enough behind takes it from there; one that falls behind the window (or
// starts elsewhere) reads with a cursor of its own until it is back in it.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

using SharedFrame = std::shared_ptr<const schema::Frame>;

class FrameWindow {
   public:
    // Holds at most `max_frames` frames and, past the newest one, `max_bytes` of frame bytes
    // (the memory their buffers hold, which a reused buffer may hold more of than it uses).
    FrameWindow(schema::TapeStore& store, std::int64_t session_id, std::size_t max_frames = 1024,
                std::size_t max_bytes = 8 << 20);

    // The frame after `seq` (0: before the first) when the window has it or it is the next one
    // to read (the caller is in front: the window moves with it); nullptr when the caller is
    // behind the window, or at the end of what the tape holds.
    SharedFrame after(std::int64_t seq);
    std::size_t size() const { return frames_.size(); }
    // The memory the frames' byte buffers hold.
    std::size_t bytes() const { return bytes_; }

   private:
    schema::TapeStore& store_;
    std::int64_t session_id_;
    std::size_t max_frames_;
    std::size_t max_bytes_;
    std::deque<SharedFrame> frames_;  // consecutive seqs
    std::size_t bytes_ = 0;
    std::optional<schema::FrameCursor> cursor_;  // right after frames_.back()
    std::shared_ptr<schema::Frame> spare_;       // an evicted frame nobody holds, to read into
};

// One connection's walk through a session's frames from a tape offset on.
class FrameReader {
   public:
    FrameReader(FrameWindow& window, schema::TapeStore& store, std::int64_t session_id,
                std::int64_t from_offset_ns);
    // The next frame, nullptr at the end of what the tape holds.
    SharedFrame next();

   private:
    SharedFrame own_next();

    FrameWindow& window_;
    schema::TapeStore& store_;
    std::int64_t session_id_;
    std::int64_t from_offset_ns_;
    std::int64_t last_seq_ = -1;              // -1: where to start not yet known
    std::optional<schema::FrameCursor> own_;  // right after last_seq_, while it is in use
};

}  // namespace mastotape::replay
