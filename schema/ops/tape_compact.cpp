#include "schema/ops/tape_compact.hpp"

namespace mastotape::schema {
namespace {

// Frames per transaction: ~8 MB of a firehose's frames.
constexpr std::size_t kBatchFrames = 4096;

void copy_session(TapeStore& from, TapeStore& to, const Session& s,
                  const std::function<void(const CompactProgress&)>& progress,
                  CompactSummary& summary) {
    const SessionCounts counts = from.counts(s.id);
    to.restore_session(s);
    Batch records;
    records.session_id = s.id;
    records.connections = from.connections(s.id);
    records.gaps = from.gaps(s.id);
    records.client_messages = from.client_messages(s.id);
    records.backfill = from.backfill(s.id);
    CompactProgress p{s.id, 0, counts.frames};
    Batch frames;
    frames.session_id = s.id;
    frames.frames.reserve(kBatchFrames);
    auto cursor = from.frames_from_seq(s.id, 1);
    Frame f;
    // The first batch also carries the session's other records, so that its backfilled bodies
    // are among what the session's dictionary is trained on.
    bool first = true;
    const auto flush = [&] {
        if (first) {
            frames.connections = std::move(records.connections);
            frames.gaps = std::move(records.gaps);
            frames.client_messages = std::move(records.client_messages);
            frames.backfill = std::move(records.backfill);
            first = false;
        }
        p.frames_done += static_cast<std::int64_t>(frames.frames.size());
        to.append(frames);
        frames.frames.clear();
        frames.connections.clear();
        frames.gaps.clear();
        frames.client_messages.clear();
        frames.backfill.clear();
        if (progress) {
            progress(p);
        }
    };
    while (cursor.next(f)) {
        frames.frames.push_back(std::move(f));
        if (frames.frames.size() == kBatchFrames) {
            flush();
        }
    }
    if (first || !frames.frames.empty()) {
        flush();
    }
    const SessionCounts copied = to.counts(s.id);
    if (copied.frames != counts.frames || copied.connections != counts.connections ||
        copied.gaps != counts.gaps || copied.backfilled != counts.backfilled ||
        copied.client_messages != counts.client_messages) {
        throw TapeError(to.path() + ": session " + std::to_string(s.id) +
                        " did not copy whole; nothing was written");
    }
    ++summary.sessions;
    summary.frames += counts.frames;
    summary.backfilled += counts.backfilled;
}

}  // namespace

CompactSummary compact_tape(TapeStore& from, TapeStore& to,
                            const std::function<void(const CompactProgress&)>& progress) {
    CompactSummary summary;
    for (const Session& s : from.sessions()) {
        copy_session(from, to, s, progress, summary);
    }
    return summary;
}

}  // namespace mastotape::schema
