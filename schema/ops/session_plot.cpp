#include "schema/ops/session_plot.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace mastotape::schema {
namespace {

constexpr std::int64_t kSecond = 1000 * kMs;

PlotFrame plot_frame(Frame&& f, bool keep_bytes) {
    PlotFrame p;
    p.seq = f.seq;
    p.offset_ns = f.offset_ns;
    p.connection_idx = f.connection_idx;
    p.kind = f.columns.kind;
    p.event = f.columns.event.value_or("");
    p.object_id = f.columns.object_id.value_or("");
    if (keep_bytes) {
        p.bytes = std::move(f.bytes);
    }
    return p;
}

// The last moment the tape knows of: the session's end, else its last record.
std::int64_t session_length(const PlotData& d) {
    std::int64_t end = std::max(d.session.ended_offset_ns.value_or(0), d.counts.last_offset_ns);
    for (const Connection& c : d.connections) {
        end = std::max({end, c.started_offset_ns, c.ended_offset_ns.value_or(0)});
    }
    for (const Gap& g : d.gaps) {
        end = std::max({end, g.start_offset_ns, g.end_offset_ns.value_or(0)});
    }
    for (const ClientMessage& m : d.client_messages) {
        end = std::max(end, m.offset_ns);
    }
    return end;
}

// Fills event_names (largest first) and the non-empty bins.
void bin_events(TapeStore& store, std::int64_t session_id, PlotData& d) {
    const std::vector<EventBin> rows = store.event_bins(session_id, d.bin_ns);
    std::map<std::string, std::int64_t> totals;
    for (const EventBin& r : rows) {
        totals[r.event] += r.count;
    }
    std::vector<std::pair<std::string, std::int64_t>> order(totals.begin(), totals.end());
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::map<std::string, std::size_t> index;
    for (const auto& [name, total] : order) {
        index[name] = d.event_names.size();
        d.event_names.push_back(name);
    }
    for (const EventBin& r : rows) {
        if (d.bins.empty() || d.bins.back().index != r.bin) {
            d.bins.push_back({r.bin, std::vector<std::int64_t>(d.event_names.size(), 0), 0, 0});
        }
        d.bins.back().by_event[index[r.event]] += r.count;
        d.bins.back().total += r.count;
    }
}

// Every frame of a short session; else each bin's first frame, so that a click on a bin has
// something to show.
void read_frames(TapeStore& store, std::int64_t session_id, const PlotOptions& o, PlotData& d) {
    Frame f;
    if (d.single_frames) {
        FrameCursor cursor = store.frames_from_seq(session_id, 1);
        while (cursor.next(f)) {
            d.frames.push_back(plot_frame(std::move(f), o.frame_bytes));
        }
        return;
    }
    for (RateBin& bin : d.bins) {
        FrameCursor cursor = store.frames_from_offset(session_id, bin.index * d.bin_ns);
        while (cursor.next(f) && f.offset_ns < (bin.index + 1) * d.bin_ns) {
            if (f.columns.kind == FrameKind::event) {
                bin.sample_seq = f.seq;
                d.frames.push_back(plot_frame(std::move(f), o.frame_bytes));
                break;
            }
        }
    }
}

}  // namespace

std::int64_t choose_bin_ns(std::int64_t length_ns, int max_bins) {
    static constexpr std::array<std::int64_t, 24> kLadder = {
        10 * kMs,        20 * kMs,        50 * kMs,        100 * kMs,      200 * kMs,
        500 * kMs,       kSecond,         2 * kSecond,     5 * kSecond,    10 * kSecond,
        15 * kSecond,    30 * kSecond,    60 * kSecond,    120 * kSecond,  300 * kSecond,
        600 * kSecond,   900 * kSecond,   1800 * kSecond,  3600 * kSecond, 7200 * kSecond,
        10800 * kSecond, 21600 * kSecond, 43200 * kSecond, 86400 * kSecond};
    const std::int64_t bins = std::max(1, max_bins);
    for (const std::int64_t width : kLadder) {
        if (length_ns / width < bins) {
            return width;
        }
    }
    // Past 600 days: whole days, as many as it takes.
    return (length_ns / bins / (86400 * kSecond) + 1) * 86400 * kSecond;
}

PlotData load_plot(TapeStore& store, std::int64_t session_id, const PlotOptions& options) {
    PlotData d;
    d.session = store.session(session_id);
    d.counts = store.counts(session_id);
    d.connections = store.connections(session_id);
    d.gaps = store.gaps(session_id);
    d.client_messages = store.client_messages(session_id);
    for (const auto& [connection, offset] : store.heartbeats(session_id)) {
        d.heartbeat_offsets.push_back(offset);
    }
    d.backfill = store.backfill_index(session_id);
    d.length_ns = session_length(d);
    d.bin_ns = choose_bin_ns(d.length_ns, options.max_bins);
    bin_events(store, session_id, d);
    d.single_frames = d.counts.frames <= options.max_single_frames;
    read_frames(store, session_id, options, d);
    return d;
}

}  // namespace mastotape::schema
