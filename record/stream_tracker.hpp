#pragma once

// What the stream has delivered, as backfill needs it: for each REST endpoint that can recover a
// stream's items, the newest id the stream brought there (where a gap's backfill starts), and the
// ids of recent items (whether a backfilled item was already streamed). Network thread only.

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "schema/tape/model.hpp"

namespace mastotape::record {

class StreamTracker {
   public:
    // `sse_label`: the label of an SSE session's one stream, for its frames, which carry none.
    // At most `remember` recent ids are kept.
    explicit StreamTracker(std::string sse_label, std::size_t remember = 200'000);

    // Notes an event frame (anything else is ignored).
    void note(const schema::Frame& f);
    // Backfill target key (schema::RestEndpoint::key()) -> newest id streamed there.
    const std::map<std::string, std::string>& newest() const { return newest_; }
    // Whether an item with this id came on the stream (a delete names an item, not delivers it).
    bool streamed(const std::string& object_id) const { return ids_.count(object_id) > 0; }

   private:
    // What one (stream label, event) means for backfill: where its target's newest id is kept.
    struct EventTarget {
        std::string label;
        std::string event;
        std::string* newest = nullptr;  // into newest_; null: not a backfill target
    };

    std::string sse_label_;
    std::size_t remember_;
    std::map<std::string, std::string> newest_;
    std::vector<EventTarget> event_targets_;  // a session has a handful
    std::unordered_set<std::string> ids_;
    std::deque<const std::string*> order_;  // into ids_, oldest first
};

}  // namespace mastotape::record
