#include "schema/ops/synth_content.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/rest_endpoints.hpp"
#include "schema/mastodon/streams.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::schema {
namespace {

const std::array<std::string_view, 24> kWords{
    "hello",   "fediverse", "mastodon", "streaming", "today",       "café",
    "naïve",   "日本語",    "🦣",     "🎉",         "coffee",      "rust",
    "c++",     "tests",     "replay",   "tape",      "über",        "👩‍💻",
    "ünïcödé", "weekend",   "release",  "\u2028ok",  "back\\slash", "tab\there"};

}  // namespace

SynthContent::SynthContent(const SynthOptions& o, std::mt19937_64& rng) : o_(o), rng_(rng) {
    make_accounts();
}

void SynthContent::make_accounts() {
    const std::array<std::pair<std::string_view, std::string_view>, 8> people{{
        {"alice", ""},
        {"bob", "other.example"},
        {"carol", ""},
        {"dmitri", "mastodon.social"},
        {"émilie", "tooting.example"},
        {"fediadmin", ""},
        {"grace", "hachyderm.example"},
        {"hiroshi", "mstdn.example"},
    }};
    std::int64_t n = 0;
    for (const auto& [user, domain] : people) {
        Account a;
        a.id = std::to_string(109'000'000'000'000'001 + n++);
        a.username = std::string(user);
        a.domain = domain.empty() ? o_.host : std::string(domain);
        a.acct = domain.empty() ? a.username : a.username + "@" + a.domain;
        a.display_name = a.username;
        a.display_name[0] = static_cast<char>(std::toupper(a.display_name[0]));
        const std::string base = "https://" + a.domain;
        std::string& j = a.json;
        j += "{\"id\":";
        append_json_string(j, a.id);
        j += ",\"username\":";
        append_json_string(j, a.username);
        j += ",\"acct\":";
        append_json_string(j, a.acct);
        j += ",\"display_name\":";
        append_json_string(j, a.display_name);
        j += ",\"locked\":false,\"bot\":" + std::string(n == 6 ? "true" : "false");
        j += ",\"discoverable\":true,\"indexable\":true,\"group\":false,\"created_at\":\"2022-11-0";
        j += std::to_string(n);
        j += "T00:00:00.000Z\",\"note\":\"<p>hi, I am ";
        append_json_escaped(j, a.username);
        j += "</p>\",\"url\":";
        append_json_string(j, base + "/@" + a.username);
        j += ",\"uri\":";
        append_json_string(j, base + "/users/" + a.username);
        j += ",\"avatar\":\"" + base + "/avatars/original/missing.png\"";
        j += ",\"avatar_static\":\"" + base + "/avatars/original/missing.png\"";
        j += ",\"header\":\"" + base + "/headers/original/missing.png\"";
        j += ",\"header_static\":\"" + base + "/headers/original/missing.png\"";
        j += ",\"followers_count\":" + std::to_string(10 * n + 3);
        j += ",\"following_count\":" + std::to_string(5 * n + 1);
        j += ",\"statuses_count\":" + std::to_string(42 * n);
        j += ",\"last_status_at\":\"" + format_iso_date(o_.start_wall_ns) + "\"";
        j += ",\"hide_collections\":false,\"emojis\":[],\"fields\":[]}";
        accounts_.push_back(std::move(a));
    }
}

std::string SynthContent::uuid() {
    const std::uint64_t a = rng_();
    return format_uuid_v4(a, rng_());
}

// Mastodon's snowflake ids: milliseconds since the epoch, shifted left 16 bits, plus a sequence.
std::string SynthContent::status_id(std::int64_t offset) {
    const std::int64_t ms = wall(o_, offset) / kMs;
    return std::to_string((ms << 16) | id_counter_++);
}

std::string SynthContent::status_json(const std::string& id, std::int64_t offset,
                                      const Subscription& sub, bool edited) {
    const Account& a = accounts_[static_cast<std::size_t>(pick(rng_, 8))];
    const bool public_view =
        sub.stream.rfind("public", 0) == 0 || sub.stream.rfind("hashtag", 0) == 0;
    const bool tagged = find_stream(sub.stream)->param == StreamParam::tag && !sub.param.empty();
    const std::string tag = tagged ? sub.param : "fediverse";
    const std::string created = format_iso_ms(wall(o_, offset) - 200 * kMs);
    const std::string base = "https://" + a.domain;
    std::string content = "<p>";
    const std::int64_t words = 6 + pick(rng_, 14);
    for (std::int64_t w = 0; w < words; ++w) {
        append_json_escaped(content, kWords[static_cast<std::size_t>(pick(rng_, kWords.size()))]);
        content += ' ';
    }
    content += "<a href=\\\"https://" + o_.host + "/tags/";
    append_json_escaped(content, tag);
    content += "\\\" class=\\\"mention hashtag\\\" rel=\\\"tag\\\">#<span>";
    append_json_escaped(content, tag);
    content += "</span></a></p>";

    std::string j;
    j.reserve(1800);
    j += "{\"id\":";
    append_json_string(j, id);
    j += ",\"created_at\":\"" + created + "\"";
    j += ",\"in_reply_to_id\":null,\"in_reply_to_account_id\":null,\"sensitive\":false";
    j += ",\"spoiler_text\":\"\",\"visibility\":\"public\",\"language\":\"en\"";
    j += ",\"uri\":";
    append_json_string(j, base + "/users/" + a.username + "/statuses/" + id);
    j += ",\"url\":";
    append_json_string(j, base + "/@" + a.username + "/" + id);
    j += ",\"replies_count\":" + std::to_string(pick(rng_, 4));
    j += ",\"reblogs_count\":" + std::to_string(pick(rng_, 9));
    j += ",\"favourites_count\":" + std::to_string(pick(rng_, 30));
    j += ",\"quotes_count\":0,\"edited_at\":";
    j += edited ? "\"" + format_iso_ms(wall(o_, offset)) + "\"" : std::string("null");
    if (!public_view) {
        j += ",\"favourited\":false,\"reblogged\":false,\"muted\":false,\"bookmarked\":false";
    }
    j += ",\"content\":\"" + content + "\"";
    if (!public_view) {
        j += ",\"filtered\":[]";
    }
    j += ",\"reblog\":null,\"application\":{\"name\":\"Web\",\"website\":null},\"account\":";
    j += a.json;
    j += ",\"media_attachments\":[],\"mentions\":[],\"tags\":[{\"name\":";
    append_json_string(j, tag);
    j += ",\"url\":";
    append_json_string(j, "https://" + o_.host + "/tags/" + tag);
    j += "}],\"emojis\":[],\"card\":null,\"poll\":null,\"quote\":null";
    j += ",\"quote_approval\":{\"automatic\":[\"public\"],\"manual\":[],\"current_user\":"
         "\"automatic\"}";
    if (public_view) {
        // The streaming server appends `filtered` to updates on public and hashtag streams.
        j += ",\"filtered\":[]";
    }
    j += "}";
    return j;
}

std::string SynthContent::notification_json(std::int64_t offset) {
    static constexpr std::array<std::string_view, 5> kTypes{"mention", "favourite", "reblog",
                                                            "follow", "status"};
    const auto type = kTypes[static_cast<std::size_t>(pick(rng_, kTypes.size()))];
    const std::string id = std::to_string(notification_id_++);
    const Account& from = accounts_[static_cast<std::size_t>(pick(rng_, 8))];
    std::string j = "{\"id\":\"" + id + "\",\"type\":\"" + std::string(type) +
                    "\",\"created_at\":\"" + format_iso_ms(wall(o_, offset)) +
                    "\",\"group_key\":\"ungrouped-" + id + "\",\"account\":" + from.json;
    if (type != "follow") {
        j += ",\"status\":" + status_json(status_id(offset), offset, {"user", ""}, false);
    }
    j += "}";
    return j;
}

std::string SynthContent::conversation_json(std::int64_t offset) {
    const std::string id = std::to_string(conversation_id_++);
    const Account& with = accounts_[static_cast<std::size_t>(1 + pick(rng_, 7))];
    std::string status = status_json(status_id(offset), offset, {"direct", ""}, false);
    // Direct messages are `direct`.
    const auto pos = status.find("\"visibility\":\"public\"");
    status.replace(pos, 21, "\"visibility\":\"direct\"");
    return "{\"id\":\"" + id + "\",\"unread\":true,\"accounts\":[" + with.json +
           "],\"last_status\":" + status + "}";
}

std::string SynthContent::announcement_json(std::int64_t offset) {
    const std::string id = std::to_string(++announcement_id_);
    const std::string at = format_iso_ms(wall(o_, offset));
    return "{\"id\":\"" + id +
           "\",\"content\":\"<p>Maintenance tonight 🛠️</p>\",\"starts_at\":null,"
           "\"ends_at\":null,\"all_day\":true,\"published_at\":\"" +
           at + "\",\"updated_at\":\"" + at +
           "\",\"mentions\":[],\"statuses\":[],\"tags\":[],\"emojis\":[],\"reactions\":[]}";
}

// The event to draw for `sub`: one of --event-mix the stream carries, else the stream's usual
// mix (mostly new posts, some deletes and edits, a few of the rest).
std::string SynthContent::choose_event(const Subscription& sub, bool entity_only) {
    std::vector<std::string> candidates;
    for (const auto& e : o_.event_mix) {
        if (stream_carries(sub.stream, e)) {
            candidates.push_back(e);
        }
    }
    if (candidates.empty()) {
        const double u = uniform(rng_);
        if (sub.stream == "direct") {
            candidates = {"conversation"};
        } else if (sub.stream == "user:notification") {
            candidates = {u < 0.97 ? "notification" : "notifications_merged"};
        } else if (sub.stream == "user") {
            candidates = {u < 0.6    ? "update"
                          : u < 0.8  ? "notification"
                          : u < 0.9  ? "delete"
                          : u < 0.96 ? "status.update"
                          : u < 0.98 ? "announcement"
                          : u < 0.99 ? "announcement.reaction"
                                     : "announcement.delete"};
        } else {
            candidates = {u < 0.8 ? "update" : u < 0.92 ? "delete" : "status.update"};
        }
    }
    std::string event = candidates[static_cast<std::size_t>(
        pick(rng_, static_cast<std::int64_t>(candidates.size())))];
    const bool needs_earlier = event == "delete" || event == "status.update";
    // What a backfill recovers is an entity; from a mix given, one of the mix's (a notification
    // missed in a gap comes back from /api/v1/notifications).
    const bool entity = event == "update" || event == "notification" || event == "conversation";
    const bool kept = entity && !o_.event_mix.empty();
    if ((entity_only && !kept) || (needs_earlier && recent_statuses_.empty())) {
        event = sub.stream == "direct"              ? "conversation"
                : sub.stream == "user:notification" ? "notification"
                                                    : "update";
    }
    return event;
}

SynthContent::Drawn SynthContent::draw_event(const Subscription& sub, std::int64_t offset,
                                             bool entity_only) {
    Drawn d;
    d.event = choose_event(sub, entity_only);
    if (d.event == "update") {
        d.id = status_id(offset);
        d.payload = status_json(d.id, offset, sub, false);
        // A status a gap's backfill recovers is not deleted or edited later: what a replayed
        // client's backfill gets would then depend on how soon after the recorded one it asks.
        if (!entity_only) {
            recent_statuses_.push_back(d.id);
            if (recent_statuses_.size() > 64) {
                recent_statuses_.erase(recent_statuses_.begin());
            }
        }
    } else if (d.event == "status.update") {
        d.id = recent_statuses_[static_cast<std::size_t>(
            pick(rng_, static_cast<std::int64_t>(recent_statuses_.size())))];
        d.payload = status_json(d.id, offset, sub, true);
    } else if (d.event == "delete") {
        const auto i = static_cast<std::size_t>(
            pick(rng_, static_cast<std::int64_t>(recent_statuses_.size())));
        d.id = recent_statuses_[i];
        d.payload = d.id;
        recent_statuses_.erase(recent_statuses_.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (d.event == "notification") {
        d.payload = notification_json(offset);
        d.id = std::to_string(notification_id_ - 1);
    } else if (d.event == "notifications_merged") {
        d.payload = "1";
    } else if (d.event == "conversation") {
        d.payload = conversation_json(offset);
        d.id = std::to_string(conversation_id_ - 1);
    } else if (d.event == "announcement") {
        d.payload = announcement_json(offset);
        d.id = std::to_string(announcement_id_);
    } else if (d.event == "announcement.reaction") {
        d.payload = "{\"name\":\"🤔\",\"count\":" + std::to_string(1 + pick(rng_, 5)) +
                    ",\"announcement_id\":\"" +
                    std::to_string(std::max<std::int64_t>(1, announcement_id_)) + "\"}";
    } else if (d.event == "announcement.delete") {
        d.payload = std::to_string(std::max<std::int64_t>(1, announcement_id_));
    }
    if (const auto e = endpoint_of(sub, d.event)) {
        d.endpoint = e->path;
    }
    if (d.event == "update") {
        d.filter = timeline_flags(sub);  // as the recorder asks
    }
    return d;
}

}  // namespace mastotape::schema
