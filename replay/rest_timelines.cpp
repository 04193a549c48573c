#include "replay/rest_timelines.hpp"

#include <algorithm>
#include <map>

#include "replay/client_protocol.hpp"
#include "schema/frame_classifier.hpp"
#include "schema/json_array.hpp"

namespace mastotape::replay {
namespace {

struct IdLess {
    bool operator()(const std::string& a, const std::string& b) const {
        return schema::compare_ids(a, b) < 0;
    }
};

// One endpoint: the stream labels and events that feed it, its page size and the query
// parameters its Link headers keep.
struct Endpoint {
    std::string path;
    std::vector<schema::Subscription> sources;
    std::vector<std::string> events;
    std::int64_t default_limit = 20;
    std::vector<std::string> link_params;
};

bool truthy(std::string_view query, const char* key) {
    const auto v = query_param(query, key);
    return v && *v != "false" && *v != "0" && *v != "f" && *v != "F" && *v != "FALSE" &&
           *v != "off" && *v != "OFF";
}

std::optional<Endpoint> endpoint_for(std::string_view path, std::string_view query) {
    Endpoint e;
    e.path = std::string(path);
    const std::vector<std::string> status_events{"update", "status.update", "delete"};
    if (path == "/api/v1/timelines/home") {
        e.sources = {{"user", ""}};
        e.events = status_events;
        e.link_params = {"local", "limit"};
    } else if (path == "/api/v1/timelines/public") {
        std::string stream = "public";
        if (truthy(query, "local")) {
            stream += ":local";
        } else if (truthy(query, "remote")) {
            stream += ":remote";
        }
        if (truthy(query, "only_media")) {
            stream += ":media";
        }
        e.sources = {{stream, ""}};
        e.events = status_events;
        e.link_params = {"local", "remote", "limit", "only_media"};
    } else if (path.rfind("/api/v1/timelines/tag/", 0) == 0) {
        const std::string tag(path.substr(22));
        e.sources = {{truthy(query, "local") ? "hashtag:local" : "hashtag", tag}};
        e.events = status_events;
        e.link_params = {"local", "limit", "only_media"};
    } else if (path.rfind("/api/v1/timelines/list/", 0) == 0) {
        e.sources = {{"list", std::string(path.substr(23))}};
        e.events = status_events;
        e.link_params = {"limit"};
    } else if (path == "/api/v1/notifications") {
        e.sources = {{"user", ""}, {"user:notification", ""}};
        e.events = {"notification"};
        e.default_limit = 40;
        e.link_params = {"limit"};
    } else if (path == "/api/v1/conversations") {
        e.sources = {{"direct", ""}};
        e.events = {"conversation"};
        e.link_params = {"limit"};
    } else {
        return std::nullopt;
    }
    return e;
}

std::string link(const std::string& base, const Endpoint& e, std::string_view query,
                 std::int64_t limit, const char* cursor, const std::string& id) {
    std::string url = base + e.path + "?";
    for (const auto& p : e.link_params) {
        if (p == "limit") {
            url += "limit=" + std::to_string(limit) + "&";
        } else if (auto v = query_param(query, p)) {
            url += p + "=" + *v + "&";
        }
    }
    return "<" + url + cursor + "=" + id + ">";
}

}  // namespace

RestTimelines::RestTimelines(schema::TapeStore& store, const schema::Session& session)
    : store_(store), session_(session) {}

std::optional<RestResponse> RestTimelines::handle(std::string_view path, std::string_view query,
                                                  std::int64_t tape_now, const std::string& base) {
    const auto e = endpoint_for(path, query);
    if (!e) {
        return std::nullopt;
    }
    const std::string sse_label =
        session_.transport == schema::Transport::sse && !session_.subscriptions.empty()
            ? session_.subscriptions.front().label()
            : std::string();
    // Everything that has happened on the replay clock, in order, deletes and edits applied.
    std::map<std::string, std::string, IdLess> items;
    auto cursor = store_.events_until(session_.id, e->events, tape_now);
    schema::Frame f;
    while (cursor.next(f)) {
        const std::string label = f.columns.stream.value_or(sse_label);
        const bool wanted = std::any_of(e->sources.begin(), e->sources.end(),
                                        [&](const auto& s) { return label_matches(label, s); });
        if (!wanted || !f.columns.object_id) {
            continue;
        }
        const std::string& id = *f.columns.object_id;
        if (*f.columns.event == "delete") {
            items.erase(id);
        } else if (*f.columns.event == "status.update") {
            if (auto it = items.find(id); it != items.end()) {
                it->second =
                    schema::event_payload(session_.transport, f.bytes).value_or(it->second);
            }
        } else if (auto payload = schema::event_payload(session_.transport, f.bytes)) {
            items[id] = std::move(*payload);
        }
    }
    // A backfilled item was published during its gap, so it exists from the gap's end (when the
    // recorder reconnected) even though the recorder fetched it a little later.
    std::map<std::int64_t, std::int64_t> gap_end;
    for (const auto& g : store_.gaps(session_.id)) {
        gap_end[g.idx] = g.end_offset_ns.value_or(g.start_offset_ns);
    }
    for (const auto& b : store_.backfill(session_.id)) {
        const auto visible = gap_end.count(b.gap_idx) ? gap_end[b.gap_idx] : b.offset_ns;
        if (b.endpoint == e->path && visible <= tape_now && b.http_status == 200) {
            items.emplace(b.object_id, b.body);
        }
    }

    std::int64_t limit = e->default_limit;
    if (auto l = query_param(query, "limit"); l && !l->empty()) {
        try {
            limit = std::min<std::int64_t>(std::llabs(std::stoll(*l)), 2 * e->default_limit);
        } catch (const std::exception&) {
        }
    }
    const auto max_id = query_param(query, "max_id");
    const auto since_id = query_param(query, "since_id");
    const auto min_id = query_param(query, "min_id");
    auto in_range = [&](const std::string& id) {
        return (!max_id || schema::compare_ids(id, *max_id) < 0) &&
               (!since_id || schema::compare_ids(id, *since_id) > 0) &&
               (!min_id || schema::compare_ids(id, *min_id) > 0);
    };
    std::vector<const std::pair<const std::string, std::string>*> page;
    if (min_id) {
        // The `limit` items immediately after min_id, returned newest first.
        for (auto it = items.upper_bound(*min_id);
             it != items.end() && static_cast<std::int64_t>(page.size()) < limit; ++it) {
            if (in_range(it->first)) {
                page.push_back(&*it);
            }
        }
        std::reverse(page.begin(), page.end());
    } else {
        for (auto it = items.rbegin();
             it != items.rend() && static_cast<std::int64_t>(page.size()) < limit; ++it) {
            if (in_range(it->first)) {
                page.push_back(&*it);
            }
        }
    }
    RestResponse res;
    res.body = "[";
    for (std::size_t i = 0; i < page.size(); ++i) {
        res.body += (i ? "," : "") + page[i]->second;
    }
    res.body += "]";
    if (!page.empty()) {
        res.headers.emplace_back(
            "Link",
            link(base, *e, query, limit, "max_id", page.back()->first) + "; rel=\"next\", " +
                link(base, *e, query, limit, "min_id", page.front()->first) + "; rel=\"prev\"");
    }
    return res;
}

}  // namespace mastotape::replay
