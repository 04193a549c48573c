// import-har: the streaming entries of a HAR into a new session (see har.hpp).

#include "schema/formats/har.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "schema/formats/har_entry.hpp"
#include "schema/formats/har_join.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/rest_endpoints.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "schema/text/byte_codec.hpp"
#include "schema/text/json_array.hpp"

namespace mastotape::schema {
namespace {

using nlohmann::json;

json parse_har(const std::string& text, const std::string& name) {
    if (!schema::is_valid_utf8(text)) {
        const auto valid = schema::valid_utf8(text);
        std::size_t at = 0;
        while (at < text.size() && at < valid.size() && text[at] == valid[at]) {
            ++at;
        }
        throw TapeError(name + ": not a HAR file: not UTF-8 text (byte " + std::to_string(at) +
                        " of " + std::to_string(text.size()) + ")");
    }
    json har;
    try {
        har = json::parse(text);
    } catch (const json::parse_error& e) {
        const bool cut = e.byte >= text.size();
        throw TapeError(name + ": not a HAR file: " +
                        (cut ? "the JSON ends too soon (" + std::to_string(text.size()) +
                                   " bytes): was it cut short?"
                             : "not JSON at byte " + std::to_string(e.byte)));
    }
    if (!har.is_object() || !member(member(har, "log"), "entries").is_array()) {
        throw TapeError(name +
                        ": not a HAR file (a JSON object with log.entries); export one from the "
                        "browser's network panel with \"Save all as HAR\"");
    }
    return har;
}

}  // namespace

// WebSocket opcodes as HAR writes them (RFC 6455 section 5.2).
constexpr std::array<std::pair<int, MessageKind>, 5> kOpcodes = {{{1, MessageKind::text},
                                                                  {2, MessageKind::binary},
                                                                  {8, MessageKind::close},
                                                                  {9, MessageKind::ping},
                                                                  {10, MessageKind::pong}}};

std::optional<MessageKind> kind_of_opcode(int opcode) {
    for (const auto& [code, kind] : kOpcodes) {
        if (code == opcode) {
            return kind;
        }
    }
    return std::nullopt;
}

int opcode_of(MessageKind kind) {
    for (const auto& [code, k] : kOpcodes) {
        if (k == kind) {
            return code;
        }
    }
    return 1;
}

namespace {

// The streaming entries of the first one's origin (a failed attempt included), and a note for
// any of another origin that was left out.
std::vector<std::size_t> same_origin(const json& entries, const std::vector<std::size_t>& streaming,
                                     std::vector<std::string>& notes) {
    const auto origin_of = [&](std::size_t i) {
        const auto url = schema::parse_url(
            schema::without_access_token(text_of(member(entries[i], "request"), "url")));
        return url ? url->origin() : std::string();
    };
    const std::string origin = origin_of(streaming.front());
    std::vector<std::size_t> out;
    std::size_t other = 0;
    for (const std::size_t i : streaming) {
        if (origin_of(i) == origin &&
            is_event_stream(entries[i]) == is_event_stream(entries[streaming.front()])) {
            out.push_back(i);
        } else {
            ++other;
        }
    }
    if (other > 0) {
        notes.push_back(std::to_string(other) + " streaming entries of another origin or " +
                        "transport than " + origin + "'s were left out (--entry N takes one)");
    }
    return out;
}

// The GETs of a list a backfill reads (a timeline, the notifications, the conversations) on
// `host` that answered with a JSON array, with their items' exact bytes.
std::vector<HarPage> rest_pages(const json& entries, const std::string& host) {
    std::vector<HarPage> out;
    for (const json& e : entries) {
        const json& request = member(e, "request");
        const auto url = schema::parse_url(text_of(request, "url"));
        const auto started = schema::parse_iso(text_of(e, "startedDateTime"));
        // An instance may stream from a host of its own (streaming.example.social).
        const bool same_host = url && (url->host == host || "streaming." + url->host == host);
        if (!same_host || !started || text_of(request, "method") != "GET") {
            continue;
        }
        const std::size_t q = url->target.find('?');
        HarPage page;
        page.endpoint = url->target.substr(0, q);
        const std::string_view query = q == std::string::npos
                                           ? std::string_view()
                                           : std::string_view(url->target).substr(q + 1);
        if (!schema::listed_items(page.endpoint, query)) {
            continue;
        }
        const json& content = member(member(e, "response"), "content");
        std::string body = text_of(content, "text");
        if (text_of(content, "encoding") == "base64") {
            body = schema::base64_decode(body).value_or("");
        }
        const auto items = schema::split_json_array(body);
        if (!items) {
            continue;
        }
        page.wall_ns = *started;
        page.query =
            q == std::string::npos ? "" : schema::without_access_token(url->target.substr(q + 1));
        const json& status = member(member(e, "response"), "status");
        page.status = status.is_number_integer() ? status.get<std::int64_t>() : 0;
        for (const auto item : *items) {
            page.items.emplace_back(item);
        }
        const json& gap = member(e, "_mastotapeGap");
        if (gap.is_number_integer()) {
            page.gap = gap.get<std::int64_t>();
        }
        out.push_back(std::move(page));
    }
    return out;
}

// Writes the session `d` makes into `store` in one transaction, checked as verify checks it.
std::int64_t store_draft(schema::TapeStore& store, HarDraft& d, const std::string& what) {
    std::int64_t id = 0;
    store.in_transaction([&] {
        id = store.create_session(d.session);
        store.append(d.take_batch(id));
        // What verify and replay would refuse is refused here, before it lands: the session is
        // checked as verify checks it, and nothing is kept unless it passes.
        const auto problems = schema::check_session(store, store.session(id));
        if (!problems.empty()) {
            throw TapeError(what + " makes a session that does not hold together (" +
                            problems.front().text + "); nothing was imported");
        }
    });
    return id;
}

}  // namespace

HarImport import_har(schema::TapeStore& store, const std::string& text, const std::string& name,
                     std::optional<std::size_t> entry) {
    const json har = parse_har(text, name);
    const json& entries = har["log"]["entries"];
    HarImport result;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].is_object() && (is_websocket(entries[i]) || is_event_stream(entries[i]))) {
            result.streaming.push_back(i);
        }
    }
    if (result.streaming.empty()) {
        throw TapeError(name +
                        ": no streaming entries (no WebSocket with _webSocketMessages, no "
                        "text/event-stream response) among its " +
                        std::to_string(entries.size()) + " entries");
    }
    std::string listed;
    for (const std::size_t i : result.streaming) {
        listed += (listed.empty() ? "" : ", ") + std::to_string(i);
    }
    if (entry && std::find(result.streaming.begin(), result.streaming.end(), *entry) ==
                     result.streaming.end()) {
        throw TapeError(name + ": entry " + std::to_string(*entry) +
                        " is not a streaming entry (those are: " + listed + ")");
    }
    std::vector<std::string> notes;
    result.entries =
        entry ? std::vector<std::size_t>{*entry} : same_origin(entries, result.streaming, notes);
    std::vector<HarDraft> drafts;
    for (const std::size_t i : result.entries) {
        drafts.push_back(read_har_entry(entries[i], i, name));
    }
    const std::string host = schema::parse_url(drafts.front().session.source)->host;
    HarDraft d = entry ? std::move(drafts.front())
                       : join_entries(std::move(drafts), rest_pages(entries, host));
    d.notes.insert(d.notes.end(), notes.begin(), notes.end());
    d.session.label = entry || result.entries.size() == 1
                          ? "HAR entry " + std::to_string(result.entries.front())
                          : "HAR entries " + std::to_string(result.entries.front()) + "-" +
                                std::to_string(result.entries.back());
    result.frames = static_cast<std::int64_t>(d.frames.size());
    result.client_messages = static_cast<std::int64_t>(d.client_messages.size());
    result.gaps = static_cast<std::int64_t>(d.gaps.size());
    result.backfilled = static_cast<std::int64_t>(d.backfill.size());
    result.session_id = store_draft(
        store, d,
        name + (result.entries.size() == 1 ? ": entry " + std::to_string(result.entries.front())
                                           : ": its streaming entries"));
    result.notes = std::move(d.notes);
    return result;
}

}  // namespace mastotape::schema
