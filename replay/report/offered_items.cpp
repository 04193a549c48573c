#include "replay/report/offered_items.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/rest_endpoints.hpp"
#include "schema/text/json_array.hpp"

namespace mastotape::replay {
namespace {

// The endpoint of `s` that holds `event` items (a delete or an edit: the status timeline).
std::string endpoint_of(const schema::Subscription& s, const std::string& event) {
    const std::string_view holds =
        event == "notification" || event == "conversation" ? event : std::string_view("update");
    const auto e = schema::endpoint_of(s, holds);
    return e ? e->path : "";
}

// One id-ordered walk: a stream label's frames of one kind, or an endpoint's backfilled items.
struct Head {
    schema::ItemCursor cursor;
    schema::ItemRow row{};
    bool backfill = false;
    std::string endpoint;
    bool live = false;
};

// The walks over the items of kind `event` on `subs`.
std::vector<Head> heads_for(schema::TapeStore& store, const TapePlan& plan,
                            const std::vector<schema::Subscription>& subs, const std::string& event,
                            std::int64_t reached) {
    const auto& session = plan.session;
    const std::string sse_label = schema::sse_label(session);
    std::vector<Head> heads;
    schema::ItemScan scan;
    scan.key = event;
    scan.max_offset_ns = reached;
    scan.newest_first = false;
    for (auto& label : store.event_streams(session.id, event)) {
        const std::string text = label ? *label : sse_label;
        const auto sub = std::find_if(subs.begin(), subs.end(), [&](const auto& s) {
            return schema::label_matches(text, s);
        });
        if (sub != subs.end()) {
            scan.stream = std::move(label);
            heads.push_back(
                {store.items_by_id(session.id, scan), {}, false, endpoint_of(*sub, event)});
        }
    }
    std::set<std::string> endpoints;
    for (const auto& s : subs) {
        for (const auto& e : schema::rest_endpoints(s)) {
            if (e.event == event) {
                endpoints.insert(e.path);
            }
        }
    }
    scan.source = schema::ItemScan::Source::backfill;
    scan.stream.reset();
    for (const auto& endpoint : endpoints) {
        scan.key = endpoint;
        heads.push_back({store.items_by_id(session.id, scan), {}, true, endpoint});
    }
    for (auto& h : heads) {
        h.live = h.cursor.next(h.row);
    }
    return heads;
}

}  // namespace

Delivered::Delivered(schema::TapeStore& store, std::int64_t session_id,
                     const std::vector<std::pair<std::int64_t, std::int64_t>>& runs) {
    for (const auto& [first, last] : runs) {
        const auto a = store.frame_row(session_id, first);
        const auto b = store.frame_row(session_id, last);
        if (a && b) {
            rows_.emplace_back(*a, *b);
        }
    }
    std::sort(rows_.begin(), rows_.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> merged;
    for (const auto& r : rows_) {
        if (!merged.empty() && r.first <= merged.back().second + 1) {
            merged.back().second = std::max(merged.back().second, r.second);
        } else {
            merged.push_back(r);
        }
    }
    rows_ = std::move(merged);
}

bool Delivered::contains(std::int64_t row) const {
    const auto next = std::upper_bound(
        rows_.begin(), rows_.end(), std::make_pair(row, std::numeric_limits<std::int64_t>::max()));
    return next != rows_.begin() && std::prev(next)->second >= row;
}

void for_each_offered(schema::TapeStore& store, const TapePlan& plan,
                      const std::vector<schema::Subscription>& subs, std::int64_t reached,
                      const Delivered& delivered,
                      const std::function<void(const OfferedItem&)>& each) {
    std::map<std::int64_t, std::int64_t> gap_middle;
    for (const auto& g : store.gaps(plan.session.id)) {
        gap_middle[g.idx] =
            g.end_offset_ns ? (g.start_offset_ns + *g.end_offset_ns) / 2 : g.start_offset_ns;
    }
    // The kinds on the tape's frames, and those only a backfill may hold.
    std::set<std::string> kinds;
    for (auto& e : store.event_names(plan.session.id)) {
        kinds.insert(std::move(e));
    }
    for (const auto& s : subs) {
        for (const auto& e : schema::rest_endpoints(s)) {
            kinds.insert(std::string(e.event));
        }
    }
    for (const auto& event : kinds) {
        auto heads = heads_for(store, plan, subs, event, reached);
        for (;;) {
            const Head* first = nullptr;
            for (const auto& h : heads) {
                if (h.live &&
                    (!first || schema::compare_ids(h.row.object_id, first->row.object_id) < 0)) {
                    first = &h;
                }
            }
            if (!first) {
                break;
            }
            // Every row of this id: the earliest frame offers it, else the earliest backfill.
            const std::string id = first->row.object_id;
            std::optional<OfferedItem> on_stream, backfilled;
            bool streamed = false;
            for (auto& h : heads) {
                for (; h.live && h.row.object_id == id; h.live = h.cursor.next(h.row)) {
                    const std::int64_t t = h.row.offset_ns;
                    if (!h.backfill) {
                        streamed = streamed || delivered.contains(h.row.row);
                        if (!on_stream || t < on_stream->at) {
                            on_stream = OfferedItem{{event, id}, t, t, "", h.endpoint, false};
                        }
                    } else if (t <= reached && (!backfilled || t < backfilled->at)) {
                        backfilled = OfferedItem{
                            {event, id},
                            t,
                            gap_middle[h.row.gap_idx],
                            "published in the recorded gap " + std::to_string(h.row.gap_idx),
                            h.endpoint,
                            false};
                    }
                }
            }
            auto& offer = on_stream ? on_stream : backfilled;
            if (offer && !id.empty()) {
                offer->streamed = streamed;
                each(*offer);
            }
        }
    }
}

}  // namespace mastotape::replay
