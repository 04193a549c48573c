#pragma once

// Work that may wait (committing to the tape, answering REST, backfilling) runs on threads of its
// own; the threads that stamp or send frames must not wait for a core behind them. Shared by the
// recorder and the replayer, which both link the schema library.

namespace mastotape::schema {

// Lowers the calling thread's scheduling priority (nice +10, per thread on Linux; lowering one's
// own needs no privilege), so that a frame thread that wakes up takes the core at once.
void make_this_thread_background();

}  // namespace mastotape::schema
