#pragma once

// A session read as one timeline: connection opens and ends, gap starts and ends, client
// messages, frames and backfilled items merged in time order. Frames stream from the store, so
// memory holds only the session's small records (connections, gaps, client messages, backfill).

#include <cstdint>
#include <functional>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

enum class TimelineKind {
    connection_opened,
    connection_ended,
    gap_started,
    gap_ended,
    client_message,
    frame,
    backfill,
};

// One entry: the record it is about (a connection or a gap twice, at its start and at its end).
struct TimelineEntry {
    TimelineKind kind = TimelineKind::frame;
    std::int64_t offset_ns = 0;
    Record record;

    // The record as the kind it is (std::bad_variant_access if not).
    template <typename T>
    const T& as() const {
        return std::get<T>(record);
    }
};

// Calls `visit` for each entry in order of (offset, kind, number). Returning false stops the walk.
// Open connections and gaps have no end entry.
void walk_timeline(TapeStore& store, std::int64_t session_id,
                   const std::function<bool(const TimelineEntry&)>& visit);

}  // namespace mastotape::schema
