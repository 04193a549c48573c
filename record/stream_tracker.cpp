#include "record/stream_tracker.hpp"

#include <algorithm>
#include <iterator>

#include "schema/mastodon/rest_endpoints.hpp"
#include "schema/text/json_array.hpp"

namespace mastotape::record {

StreamTracker::StreamTracker(std::string sse_label, std::size_t remember)
    : sse_label_(std::move(sse_label)), remember_(remember) {}

void StreamTracker::note(const schema::Frame& f) {
    if (f.columns.kind != schema::FrameKind::event || !f.columns.object_id || !f.columns.event) {
        return;
    }
    // A delete names an item without delivering it: a backfilled item deleted on the stream
    // before its page came was not "already streamed".
    if (*f.columns.event != "delete") {
        const auto [it, added] = ids_.insert(*f.columns.object_id);
        if (added) {
            order_.push_back(&*it);  // elements of an unordered_set stay put
            if (order_.size() > remember_) {
                ids_.erase(ids_.find(*order_.front()));
                order_.pop_front();
            }
        }
    }
    const std::string& label = f.columns.stream ? *f.columns.stream : sse_label_;
    const std::string& event = *f.columns.event;
    auto cached =
        std::find_if(event_targets_.begin(), event_targets_.end(),
                     [&](const EventTarget& t) { return t.event == event && t.label == label; });
    if (cached == event_targets_.end()) {
        EventTarget t{label, event, nullptr};
        if (const auto target = schema::endpoint_of_label(label, event)) {
            t.newest = &newest_[target->key()];  // map nodes stay where they are
        }
        event_targets_.push_back(std::move(t));
        cached = std::prev(event_targets_.end());
    }
    if (std::string* newest = cached->newest) {
        if (newest->empty() || schema::compare_ids(*f.columns.object_id, *newest) > 0) {
            *newest = *f.columns.object_id;
        }
    }
}

}  // namespace mastotape::record
