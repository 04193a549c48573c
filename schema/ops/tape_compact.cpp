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
    CompactProgress p{s.id, 0, counts.frames};
    // The first batch also carries the session's other records, so that its backfilled bodies
    // are among what the session's dictionary is trained on.
    Batch batch;
    batch.session_id = s.id;
    const auto take = [&](auto records) {
        for (auto& r : records) {
            batch.records.emplace_back(std::move(r));
        }
    };
    take(from.connections(s.id));
    take(from.gaps(s.id));
    take(from.client_messages(s.id));
    take(from.backfill(s.id));
    std::int64_t frames_in_batch = 0;
    bool flushed = false;
    const auto flush = [&] {
        p.frames_done += frames_in_batch;
        to.append(batch);
        batch.records.clear();
        frames_in_batch = 0;
        flushed = true;
        if (progress) {
            progress(p);
        }
    };
    auto cursor = from.frames_from_seq(s.id, 1);
    Frame f;
    while (cursor.next(f)) {
        batch.records.emplace_back(std::move(f));
        if (++frames_in_batch == static_cast<std::int64_t>(kBatchFrames)) {
            flush();
        }
    }
    if (!flushed || !batch.empty()) {
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
