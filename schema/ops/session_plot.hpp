#pragma once

// What `mastotape plot` draws of one session, read from the tape with memory that does not grow
// with the number of frames: the session's small records (connections, gaps, client messages,
// heartbeats, backfilled ids), the event rate binned so that the whole session fits a few hundred
// bins, and single frames only for a short session (else one sample frame per bin).

#include <cstdint>
#include <string>
#include <vector>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

struct PlotOptions {
    int max_bins = 600;                     // the event rate's bins over the whole session
    std::int64_t max_single_frames = 2000;  // sessions with more frames are drawn binned only
    bool frame_bytes = false;               // keep frames' bytes (the HTML panel shows them)
};

// One bin of the event rate: its events by event name (indexes into PlotData::event_names).
struct RateBin {
    std::int64_t index = 0;  // the bin starts at index * bin_ns
    std::vector<std::int64_t> by_event;
    std::int64_t total = 0;
    std::int64_t sample_seq = 0;  // the bin's first frame (binned sessions; 0: not read)
};

// A frame as the plot shows it; `bytes` only with PlotOptions::frame_bytes.
struct PlotFrame {
    std::int64_t seq = 0;
    std::int64_t offset_ns = 0;
    std::int64_t connection_idx = 0;
    FrameKind kind = FrameKind::event;
    std::string event;
    std::string object_id;
    std::string bytes;
};

struct PlotData {
    Session session;
    SessionCounts counts;
    std::int64_t length_ns = 0;  // from the start to the last thing recorded (or the end)
    std::vector<Connection> connections;
    std::vector<Gap> gaps;
    std::vector<ClientMessage> client_messages;
    std::vector<std::int64_t> heartbeat_offsets;
    std::vector<BackfillItem> backfill;  // without bodies
    std::int64_t bin_ns = 1'000'000'000;
    std::vector<std::string> event_names;  // in order of total count, largest first
    std::vector<RateBin> bins;             // non-empty bins only, in time order
    bool single_frames = false;            // `frames` holds every frame of the session
    std::vector<PlotFrame> frames;         // every frame, or the bins' samples
};

PlotData load_plot(TapeStore& store, std::int64_t session_id, const PlotOptions& options);

// The smallest bin width from a 1-2-5 style ladder (10 ms to 1 day) that splits `length_ns`
// into at most `max_bins` bins.
std::int64_t choose_bin_ns(std::int64_t length_ns, int max_bins);

}  // namespace mastotape::schema
