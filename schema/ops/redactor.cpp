#include "schema/ops/redactor.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <functional>

#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/url.hpp"

namespace mastotape::schema {
namespace {

using Json = nlohmann::ordered_json;

std::uint64_t mix(std::uint64_t x) {  // splitmix64
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t hash_of(std::string_view s, std::uint64_t seed) {
    std::uint64_t h = 0xcbf29ce484222325ULL ^ mix(seed);
    for (const unsigned char c : s) {
        h = (h ^ c) * 0x100000001b3ULL;
    }
    return mix(h);
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool id_key(std::string_view k) {
    return k == "id" || (k.size() > 3 && k.substr(k.size() - 3) == "_id");
}
bool ids_key(std::string_view k) { return k.size() > 4 && k.substr(k.size() - 4) == "_ids"; }

bool one_of(std::string_view k, std::initializer_list<std::string_view> keys) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
}

// Keys whose value is a link to a page (mapped) or to a file (neutralised).
bool page_url_key(std::string_view k) {
    return one_of(k, {"url", "uri", "author_url", "provider_url", "embed_url", "website"});
}
bool media_url_key(std::string_view k) {
    return one_of(k, {"avatar", "avatar_static", "header", "header_static", "preview_url",
                      "remote_url", "static_url", "text_url", "image", "preview_remote_url"});
}
// Keys whose value is free text.
bool text_key(std::string_view k) {
    return one_of(k, {"display_name", "spoiler_text", "text", "title", "description", "author_name",
                      "provider_name", "comment", "name"});
}

// The parts of a URL the redactor rewrites: scheme, host (with port), path; `ok` for an absolute
// URL with a host.
struct RedactedUrl {
    std::string scheme, host, path;
    bool ok = false;
};
RedactedUrl url_parts(std::string_view u) {
    const auto p = split_url(u);
    if (!p) {
        return {};
    }
    return {std::string(p->scheme), std::string(p->authority), std::string(p->path), true};
}

// Path segments Mastodon's own routes use, kept as they are.
bool route_word(std::string_view s) {
    return one_of(s, {"users",
                      "statuses",
                      "tags",
                      "web",
                      "notice",
                      "system",
                      "media_attachments",
                      "accounts",
                      "avatars",
                      "headers",
                      "original",
                      "small",
                      "custom_emojis",
                      "cache",
                      "files",
                      "objects",
                      "activity",
                      "replies",
                      "followers",
                      "following",
                      "media",
                      "interactions",
                      "api",
                      "v1",
                      "v2",
                      "static",
                      "emoji",
                      "statuses_stats",
                      "lists",
                      "polls"});
}

// Each href="..." value in an HTML fragment.
void for_each_href(std::string_view html, const std::function<void(std::string_view)>& f) {
    for (auto at = html.find("href=\""); at != std::string_view::npos;
         at = html.find("href=\"", at + 1)) {
        const auto end = html.find('"', at + 6);
        if (end == std::string_view::npos) {
            return;
        }
        f(html.substr(at + 6, end - at - 6));
    }
}

// The numeric segments of a URL's path.
void for_each_numeric_segment(std::string_view u, const std::function<void(std::string_view)>& f) {
    const auto p = url_parts(u);
    std::string_view path = p.path;
    while (!path.empty()) {
        const auto slash = path.find('/', 1);
        auto seg =
            path.substr(1, slash == std::string_view::npos ? std::string_view::npos : slash - 1);
        if (all_digits(seg)) {
            f(seg);
        }
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
}

std::uint64_t pow10(std::size_t n) {
    std::uint64_t p = 1;
    for (std::size_t i = 0; i < n; ++i) {
        p *= 10;
    }
    return p;
}

// An attribute's value inside a tag, or "".
std::string attribute(std::string_view tag, std::string_view name) {
    const std::string key = std::string(name) + "=\"";
    const auto at = tag.find(key);
    if (at == std::string_view::npos) {
        return "";
    }
    const auto end = tag.find('"', at + key.size());
    return std::string(tag.substr(at + key.size(), end - at - key.size()));
}

}  // namespace

Redactor::Redactor(Options o) : o_(std::move(o)) {
    if (!o_.home_host.empty()) {
        host(o_.home_host);  // the recorded instance is instance-1
    }
}

void Redactor::observe(std::string_view text) {
    const auto note = [&](std::string_view digits) {
        if (digits.size() > 19 || digits.size() < 2) {
            return;
        }
        std::uint64_t v = 0;
        std::from_chars(digits.data(), digits.data() + digits.size(), v);
        auto [it, fresh] = id_range_.try_emplace(digits.size(), v, v);
        it->second.first = std::min(it->second.first, v);
        it->second.second = std::max(it->second.second, v);
    };
    if (all_digits(text)) {
        note(text);
        return;
    }
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) {
        return;
    }
    std::function<void(const Json&, const std::string&)> walk = [&](const Json& v,
                                                                    const std::string& key) {
        if (v.is_object()) {
            for (const auto& [k, child] : v.items()) {
                walk(child, k);
            }
        } else if (v.is_array()) {
            for (const auto& child : v) {
                walk(child, ids_key(key) ? "id" : key);
            }
        } else if (v.is_string()) {
            const auto& s = v.get_ref<const std::string&>();
            if (id_key(key) && all_digits(s)) {
                note(s);
            } else if (page_url_key(key)) {
                for_each_numeric_segment(s, note);
            } else if (key == "content" || key == "note" || key == "value") {
                for_each_href(s,
                              [&](std::string_view href) { for_each_numeric_segment(href, note); });
            }
        }
    };
    walk(j, "");
}

void Redactor::freeze() {
    for (const auto& [length, range] : id_range_) {
        const std::uint64_t lo = pow10(length - 1);
        const std::uint64_t hi = pow10(length) - 1;
        const std::uint64_t most = length > 2 ? pow10(length - 2) : 1;
        const std::uint64_t up = std::min(hi - range.second, most);
        const std::uint64_t down = std::min(range.first - lo, most);
        const std::uint64_t span = up + down;
        std::int64_t k = 0;
        if (span > 0) {
            const std::uint64_t r = mix(o_.seed ^ length) % (span + 1);
            k = static_cast<std::int64_t>(r) - static_cast<std::int64_t>(down);
            if (k == 0) {
                k = up > 0 ? 1 : -1;
            }
        }
        offset_[length] = k;
    }
    frozen_ = true;
}

std::string Redactor::id(std::string_view digits) {
    const auto it = offset_.find(digits.size());
    if (!frozen_ || it == offset_.end() || digits.size() > 19) {
        return std::string(digits);
    }
    std::uint64_t v = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), v);
    count("ids");
    return std::to_string(static_cast<std::uint64_t>(static_cast<std::int64_t>(v) + it->second));
}

std::string Redactor::host(std::string_view h) {
    const std::string key = lower(h);
    if (key.empty() || o_.keep_hosts.count(key)) {
        return std::string(h);
    }
    const auto it = hosts_.find(key);
    if (it != hosts_.end()) {
        return it->second;
    }
    std::string made = "instance-" + std::to_string(hosts_.size() + 1) + ".example";
    hosts_.emplace(key, made);
    return made;
}

std::string Redactor::username(std::string_view name, std::string_view h) {
    const std::string key = lower(name) + "@" + lower(h);
    const auto it = usernames_.find(key);
    if (it != usernames_.end()) {
        return it->second;
    }
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::uint64_t x = hash_of(key, o_.seed);
    std::string made;
    do {
        made = "u";
        for (int i = 0; i < 7; ++i, x /= kAlphabet.size()) {
            made += kAlphabet[x % kAlphabet.size()];
        }
        x = mix(x + 1);
    } while (taken_.count(made));
    taken_.insert(made);
    usernames_.emplace(key, made);
    return made;
}

std::string Redactor::scrambled(std::string_view text) {
    std::uint64_t state = hash_of(text, o_.seed);
    const auto next = [&](std::uint64_t n) {
        state = mix(state);
        return static_cast<char>(state % n);
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        // A custom emoji's shortcode, :name:, stays.
        if (c == ':') {
            std::size_t j = i + 1;
            while (j < text.size() &&
                   (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) {
                ++j;
            }
            if (j < text.size() && text[j] == ':' && j > i + 1) {
                out.append(text.substr(i, j + 1 - i));
                i = j + 1;
                continue;
            }
        }
        if (c < 0x80) {
            out += c >= 'a' && c <= 'z'   ? static_cast<char>('a' + next(26))
                   : c >= 'A' && c <= 'Z' ? static_cast<char>('A' + next(26))
                   : c >= '0' && c <= '9' ? static_cast<char>('0' + next(10))
                                          : static_cast<char>(c);
            ++i;
            continue;
        }
        // Another script's letter becomes a Latin one; an emoji or a joiner stays.
        const std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        std::uint32_t cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0f : 0x1f);
        for (std::size_t k = 1; k < len && i + k < text.size(); ++k) {
            cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
        }
        const bool pictograph = cp >= 0x1f000 || (cp >= 0x2600 && cp <= 0x27bf) || cp == 0x200d ||
                                (cp >= 0xfe00 && cp <= 0xfe0f);
        if (pictograph) {
            out.append(text.substr(i, len));
        } else {
            out += static_cast<char>('a' + next(26));
        }
        i += len;
    }
    return out;
}

std::string Redactor::url(std::string_view u) {
    const auto p = url_parts(u);
    if (!p.ok) {
        return u.empty() ? std::string() : scrambled(u);
    }
    count("urls");
    std::string out = p.scheme + "://" + host(p.host);
    std::string_view path = p.path;
    std::string before;  // the previous segment
    while (!path.empty()) {
        const auto slash = path.find('/', 1);
        const std::string seg(
            path.substr(1, slash == std::string_view::npos ? std::string_view::npos : slash - 1));
        std::string mapped;
        if (!seg.empty() && seg[0] == '@') {
            const auto at = seg.find('@', 1);
            mapped = at == std::string::npos
                         ? "@" + username(seg.substr(1), p.host)
                         : "@" + username(seg.substr(1, at - 1), seg.substr(at + 1)) + "@" +
                               host(seg.substr(at + 1));
        } else if (before == "users") {
            mapped = username(seg, p.host);
        } else if (all_digits(seg)) {
            mapped = id(seg);
        } else if (before == "tags" || route_word(seg)) {
            mapped = seg;
        } else {
            mapped = scrambled(seg);
        }
        out += "/" + mapped;
        before = seg;
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
    return out;
}

std::string Redactor::hosts_in(std::string_view text) {
    std::string out(text);
    for (const auto& [original, pseudonym] : hosts_) {
        for (auto at = lower(out).find(original); at != std::string::npos;
             at = lower(out).find(original, at + pseudonym.size())) {
            out.replace(at, original.size(), pseudonym);
        }
    }
    return out;
}

std::string Redactor::html(std::string_view h) {
    std::string out;
    enum class Anchor { none, mention, hashtag, link } anchor = Anchor::none;
    std::string mention_host;
    for (std::size_t i = 0; i < h.size();) {
        if (h[i] == '<') {
            const auto end = h.find('>', i);
            std::string tag(
                h.substr(i, end == std::string_view::npos ? std::string_view::npos : end + 1 - i));
            const std::size_t length = tag.size();  // before its href is mapped
            if (tag.rfind("<a ", 0) == 0) {
                const std::string cls = attribute(tag, "class");
                const std::string href = attribute(tag, "href");
                anchor = cls.find("hashtag") != std::string::npos   ? Anchor::hashtag
                         : cls.find("mention") != std::string::npos ? Anchor::mention
                                                                    : Anchor::link;
                mention_host = url_parts(href).host;
                if (!href.empty()) {
                    const auto at = tag.find("href=\"" + href + "\"");
                    tag.replace(at + 6, href.size(), url(href));
                }
            } else if (tag.rfind("</a", 0) == 0) {
                anchor = Anchor::none;
            }
            out += tag;
            i += length;
            continue;
        }
        if (h[i] == '&') {  // an entity, kept whole
            const auto semi = h.find(';', i);
            if (semi != std::string_view::npos && semi - i <= 10) {
                out.append(h.substr(i, semi + 1 - i));
                i = semi + 1;
                continue;
            }
        }
        const auto stop = h.find_first_of("<&", i + 1);
        const std::string_view run =
            h.substr(i, stop == std::string_view::npos ? std::string_view::npos : stop - i);
        if (anchor == Anchor::hashtag || run == "@" || run == "#") {
            out.append(run);
        } else if (anchor == Anchor::mention) {
            const std::string_view name = run[0] == '@' ? run.substr(1) : run;
            const auto at = name.find('@');
            out +=
                std::string(run[0] == '@' ? "@" : "") +
                (at == std::string_view::npos ? username(name, mention_host)
                                              : username(name.substr(0, at), name.substr(at + 1)) +
                                                    "@" + host(name.substr(at + 1)));
        } else {
            out += scrambled(run);
        }
        i += run.size();
    }
    return out;
}

std::string Redactor::shifted(const std::string& time) const {
    // YYYY-MM-DD, then THH:MM:SS and the rest (fraction, zone) kept as written.
    const bool date_only = time.size() == 10;
    const auto secs = parse_iso_seconds(date_only ? time + "T00:00:00" : time);
    if (o_.shift_s == 0 || !secs) {
        return time;
    }
    const std::int64_t ns = (*secs + static_cast<std::int64_t>(o_.shift_s)) * 1'000'000'000;
    return date_only ? format_iso_date(ns) : format_iso_ms(ns).substr(0, 19) + time.substr(19);
}

std::string Redactor::media_url(std::string_view u) {
    const auto p = url_parts(u);
    const auto dot = p.path.rfind('.');
    count("media");
    return p.ok ? p.scheme + "://" + host(p.host) + "/system/redacted" +
                      (dot == std::string::npos ? std::string() : p.path.substr(dot))
                : std::string();
}

std::optional<std::string> Redactor::field(const std::string& key, const std::string& parent,
                                           const std::string& s) {
    if (id_key(key) && all_digits(s)) {
        return id(s);
    }
    if (key == "group_key") {  // "ungrouped-<notification id>", "favourite-<status id>-<hour>"
        count(key);
        std::string out;
        for (std::size_t i = 0; i < s.size();) {
            std::size_t j = i;
            while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
                ++j;
            }
            out += j > i ? id(std::string_view(s).substr(i, j - i)) : std::string(1, s[j++]);
            i = j;
        }
        return out;
    }
    if (media_url_key(key) ||
        (key == "url" && (parent == "media_attachments" || parent == "emojis"))) {
        return media_url(s);
    }
    if (page_url_key(key)) {
        return url(s);
    }
    if (key.size() > 3 && key.substr(key.size() - 3) == "_at") {
        return shifted(s);
    }
    if (key == "blurhash") {
        count(key);
        return "LEHV6nWB2yk8pyo0adR*.7kCMdnj";  // a neutral one
    }
    if (key == "content" || key == "note" || (key == "value" && parent == "fields")) {
        count(key);
        return html(s);
    }
    if (key == "html") {  // a card's embed
        count(key);
        return "";
    }
    // A tag's name stays: the stream labels and hashtag links name it.
    if (text_key(key) && !(key == "name" && (parent == "tags" || parent == "featured_tags"))) {
        count(key);
        return scrambled(s);
    }
    return std::nullopt;
}

namespace {

// An account or a mention: the same pseudonym for the same username on the same host.
void pseudonymize_account(Redactor& r, Json& v) {
    if (!v.contains("username") || !v.contains("acct") || !v["username"].is_string() ||
        !v["acct"].is_string() || r.keeps("username")) {
        return;
    }
    const std::string acct = v["acct"];
    const auto at = acct.find('@');
    const std::string h = at != std::string::npos ? acct.substr(at + 1)
                          : v.contains("url") && v["url"].is_string()
                              ? url_parts(v["url"].get<std::string>()).host
                              : r.options().home_host;
    const std::string name = r.username(v["username"].get<std::string>(), h);
    v["username"] = name;
    v["acct"] = at == std::string::npos ? name : name + "@" + r.host(h);
    r.count("username");
}

}  // namespace

std::optional<std::string> Redactor::redact(std::string_view text) {
    if (all_digits(text)) {
        return id(text);
    }
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) {
        return std::nullopt;
    }
    std::function<void(Json&, const std::string&)> walk = [&](Json& v, const std::string& key) {
        if (v.is_array()) {
            for (auto& child : v) {
                if (ids_key(key) && child.is_string() && all_digits(child.get<std::string>())) {
                    child = id(child.get<std::string>());
                } else {
                    walk(child, key);
                }
            }
            return;
        }
        if (!v.is_object()) {
            return;
        }
        pseudonymize_account(*this, v);
        for (auto& [k, child] : v.items()) {
            if (keeps(k) || k == "username" || k == "acct") {
                continue;
            }
            if (!child.is_string()) {
                walk(child, k);
            } else if (const std::string s = child.get<std::string>(); !s.empty()) {
                if (auto redacted = field(k, key, s)) {
                    child = std::move(*redacted);
                }
            }
        }
    };
    walk(j, "");
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace mastotape::schema
