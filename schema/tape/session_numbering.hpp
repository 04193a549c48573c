#pragma once

// The numbers a session's records carry, handed out in the order they are written: frames, client
// messages and backfill items count from 1, connections and gaps from 0, with no number skipped
// (tape_verifier holds a tape to it). A client message and a gap name the last frame before them
// by `last_frame()`. The recorder, synth, cut and HAR import number their sessions with it.

#include <cstdint>

namespace mastotape::schema {

class SessionNumbering {
   public:
    std::int64_t next_frame() { return ++frames_; }
    std::int64_t next_client_message() { return ++messages_; }
    std::int64_t next_backfill_item() { return ++backfill_items_; }
    std::int64_t next_connection() { return connections_++; }
    std::int64_t next_gap() { return gaps_++; }

    // The seq of the last frame handed out; 0 before the first.
    std::int64_t last_frame() const { return frames_; }
    // How many of each were handed out.
    std::int64_t connections() const { return connections_; }
    std::int64_t gaps() const { return gaps_; }

   private:
    std::int64_t frames_ = 0;
    std::int64_t messages_ = 0;
    std::int64_t backfill_items_ = 0;
    std::int64_t connections_ = 0;
    std::int64_t gaps_ = 0;
};

}  // namespace mastotape::schema
