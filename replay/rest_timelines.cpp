#include "replay/rest_timelines.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/rest_endpoints.hpp"
#include "schema/text/json_array.hpp"

namespace mastotape::replay {
namespace {

// One endpoint: its path and what a GET of it lists.
struct Endpoint : schema::ListedItems {
    std::string path;
    bool statuses() const { return event == "update"; }  // deletes and edits apply
};

std::optional<Endpoint> endpoint_for(std::string_view path, std::string_view query) {
    auto listed = schema::listed_items(path, query);
    if (!listed) {
        return std::nullopt;
    }
    return Endpoint{std::move(*listed), std::string(path)};
}

std::string link(const std::string& base, const Endpoint& e, std::string_view query,
                 std::int64_t limit, const char* cursor, const std::string& id) {
    std::string url = base + e.path + "?";
    for (const auto& p : e.link_params) {
        if (p == "limit") {
            url += "limit=" + std::to_string(limit) + "&";
        } else if (auto v = schema::query_param(query, p)) {
            url += std::string(p) + "=" + *v + "&";
        }
    }
    return "<" + url + cursor + "=" + id + ">";
}

using Page = std::vector<std::pair<std::string, std::string>>;  // (id, entity), in scan order

// The stored labels of `event` frames that feed `e` (nullopt: an SSE session's unlabelled ones).
std::vector<std::optional<std::string>> labels_of(schema::TapeStore& store,
                                                  const schema::Session& session, const Endpoint& e,
                                                  const std::string& event) {
    const std::string sse_label = schema::sse_label(session);
    std::vector<std::optional<std::string>> out;
    for (auto& label : store.event_streams(session.id, event)) {
        const std::string& text = label ? *label : sse_label;
        if (std::any_of(e.sources.begin(), e.sources.end(),
                        [&](const auto& s) { return schema::label_matches(text, s); })) {
            out.push_back(std::move(label));
        }
    }
    return out;
}

// Which items of `e` a page shows, as the timeline stood at `now`: an item is there from its
// newest arrival at or before `now` (streamed, or backfilled: from its gap's end; a tie goes to
// the streamed one) unless a delete came after that, and shows the latest edit after that
// arrival. Read from the tape's indexes: memory holds the page, and time grows with the page
// (plus the index entries of items not yet due that sort before it).
class PageCollector {
   public:
    PageCollector(schema::TapeStore& store, const schema::Session& session, const Endpoint& e,
                  std::int64_t now)
        : store_(store), session_(session), e_(e), now_(now) {
        for (const auto& g : store.gaps(session.id)) {
            gap_end_[g.idx] = g.end_offset_ns.value_or(g.start_offset_ns);
        }
        if (e.statuses()) {
            delete_labels_ = labels_of(store, session, e, "delete");
            edit_labels_ = labels_of(store, session, e, "status.update");
        }
    }

    // Up to `limit` items in id order from the bounds.
    Page collect(const std::optional<std::string>& after, const std::optional<std::string>& before,
                 bool newest_first, std::int64_t limit) {
        open_heads(after, before, newest_first);
        Page page;
        while (static_cast<std::int64_t>(page.size()) < limit) {
            const auto id = next_id(newest_first);
            if (!id) {
                break;
            }
            const auto since = arrival(*id);
            if (!since || deleted(*id, std::get<0>(*since))) {
                continue;
            }
            if (auto entity = entity_of(*id, *since)) {
                page.emplace_back(*id, std::move(*entity));
            }
        }
        if (!newest_first) {
            std::reverse(page.begin(), page.end());  // the items right after min_id, newest first
        }
        return page;
    }

   private:
    // One id-ordered walk: a stream label's events, or the endpoint's backfilled items.
    struct Head {
        schema::ItemCursor cursor;
        schema::ItemRow row;
        bool backfill = false;
        bool live = false;
    };
    // An item's newest arrival at or before `now`: (time, streamed?, frame row or seq).
    using Arrival = std::tuple<std::int64_t, bool, std::int64_t>;

    void open_heads(const std::optional<std::string>& after,
                    const std::optional<std::string>& before, bool newest_first) {
        schema::ItemScan scan;
        scan.key = e_.event;
        scan.max_offset_ns = now_;
        scan.after = after;
        scan.before = before;
        scan.newest_first = newest_first;
        for (auto& label : labels_of(store_, session_, e_, std::string(e_.event))) {
            scan.stream = std::move(label);
            heads_.push_back({store_.items_by_id(session_.id, scan), {}, false, false});
        }
        scan.source = schema::ItemScan::Source::backfill;
        scan.key = e_.path;
        heads_.push_back({store_.items_by_id(session_.id, scan), {}, true, false});
        for (auto& h : heads_) {
            h.live = h.cursor.next(h.row);
        }
    }

    // The next id over all heads.
    std::optional<std::string> next_id(bool newest_first) const {
        const Head* first = nullptr;
        for (const auto& h : heads_) {
            if (h.live && (!first || (schema::compare_ids(h.row.object_id, first->row.object_id) >
                                      0) == newest_first)) {
                first = &h;
            }
        }
        return first ? std::optional<std::string>(first->row.object_id) : std::nullopt;
    }

    // Takes every row that carries `id` from the heads; its newest arrival, if it has one by now.
    std::optional<Arrival> arrival(const std::string& id) {
        std::optional<Arrival> newest;
        for (auto& h : heads_) {
            for (; h.live && h.row.object_id == id; h.live = h.cursor.next(h.row)) {
                std::int64_t at = h.row.offset_ns;
                if (h.backfill) {
                    // Public and tag pages share a path: the query says which timeline it was.
                    const auto fetched = endpoint_for(e_.path, h.row.query);
                    if (!fetched || fetched->sources != e_.sources) {
                        continue;
                    }
                    // A backfilled item was published during its gap, so it exists from the
                    // gap's end (when the recorder reconnected), though fetched a little later.
                    const auto g = gap_end_.find(h.row.gap_idx);
                    at = g != gap_end_.end() ? g->second : h.row.offset_ns;
                    if (at > now_) {
                        continue;
                    }
                }
                const Arrival candidate{at, !h.backfill, h.row.row};
                if (!newest || candidate > *newest) {
                    newest = candidate;
                }
            }
        }
        return newest;
    }

    bool deleted(const std::string& id, std::int64_t since) const {
        return std::any_of(delete_labels_.begin(), delete_labels_.end(), [&](const auto& l) {
            return store_.latest_event(session_.id, "delete", l, id, since, now_).has_value();
        });
    }

    // The item's entity as it stood at `now`: its latest edit since it arrived, else as it came.
    std::optional<std::string> entity_of(const std::string& id, const Arrival& a) const {
        const auto [since, streamed, row] = a;
        std::optional<std::pair<std::int64_t, std::int64_t>> edit;  // (frame row, offset)
        for (const auto& l : edit_labels_) {
            const auto found =
                store_.latest_event(session_.id, "status.update", l, id, since, now_);
            if (found && (!edit || found->second > edit->second)) {
                edit = found;
            }
        }
        std::optional<std::string> entity;
        if (edit) {
            entity = schema::event_payload(session_.transport, store_.frame_bytes(edit->first));
        }
        if (!entity) {
            entity = streamed ? schema::event_payload(session_.transport, store_.frame_bytes(row))
                              : std::optional<std::string>(store_.backfill_body(session_.id, row));
        }
        return entity;
    }

    schema::TapeStore& store_;
    const schema::Session& session_;
    const Endpoint& e_;
    std::int64_t now_;
    std::vector<Head> heads_;
    std::map<std::int64_t, std::int64_t> gap_end_;
    std::vector<std::optional<std::string>> delete_labels_;
    std::vector<std::optional<std::string>> edit_labels_;
};

}  // namespace

RestTimelines::RestTimelines(schema::TapeStore& store, const schema::Session& session)
    : store_(store), session_(session) {}

std::optional<RestResponse> RestTimelines::handle(std::string_view path, std::string_view query,
                                                  std::int64_t tape_now, const std::string& base) {
    const auto e = endpoint_for(path, query);
    if (!e) {
        return std::nullopt;
    }
    std::int64_t limit = e->default_limit;
    if (auto l = schema::query_param(query, "limit"); l && !l->empty()) {
        try {
            limit = std::min<std::int64_t>(std::llabs(std::stoll(*l)), 2 * e->default_limit);
        } catch (const std::exception&) {
        }
    }
    // The page's id bounds: below max_id, above since_id and min_id; with min_id the page is the
    // `limit` items right after it, otherwise the newest ones.
    const auto max_id = schema::query_param(query, "max_id");
    std::optional<std::string> after = schema::query_param(query, "since_id");
    const auto min_id = schema::query_param(query, "min_id");
    if (min_id && (!after || schema::compare_ids(*min_id, *after) > 0)) {
        after = min_id;
    }
    const bool newest_first = !min_id;
    const auto page =
        PageCollector(store_, session_, *e, tape_now).collect(after, max_id, newest_first, limit);
    RestResponse res;
    res.event = e->event;
    res.limit = limit;
    res.body = "[";
    for (std::size_t i = 0; i < page.size(); ++i) {
        res.body += (i ? "," : "") + page[i].second;
        res.ids.push_back(page[i].first);
    }
    res.body += "]";
    if (!page.empty()) {
        res.headers.emplace_back(
            "Link", link(base, *e, query, limit, "max_id", page.back().first) + "; rel=\"next\", " +
                        link(base, *e, query, limit, "min_id", page.front().first) +
                        "; rel=\"prev\"");
    }
    return res;
}

}  // namespace mastotape::replay
