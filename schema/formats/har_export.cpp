// export --format har: a session as a HAR file, one entry per connection and one per backfill
// page (see har.hpp).

#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>

#include "schema/formats/har.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/text/byte_codec.hpp"

namespace mastotape::schema {

using nlohmann::json;

namespace {

// Exact bytes as a HAR message's `data`: the text when it is UTF-8, else base64 (and says so).
void put_data(json& m, const std::string& bytes, bool text) {
    if (text && schema::is_valid_utf8(bytes)) {
        m["data"] = bytes;
        return;
    }
    m["data"] = schema::base64_encode(bytes);
    if (text) {
        m["_mastotapeEncoding"] = "base64";
    }
}

// Nanoseconds in whole microseconds, as `unit` (1e6: seconds, as HAR writes a message's time;
// 1000: milliseconds, its timings).
double whole_us(std::int64_t ns, double unit) {
    const std::int64_t us = ns / kUs;
    return static_cast<double>(us) / unit;
}

double seconds(std::int64_t wall_ns) { return whole_us(wall_ns, 1e6); }

json message(const char* type, std::int64_t wall_ns, int opcode, const std::string& bytes) {
    json m = {{"type", type}, {"time", seconds(wall_ns)}, {"opcode", opcode}};
    put_data(m, bytes, opcode == 1);
    return m;
}

// One connection's entry, its frames and what the client sent on it in the order they crossed.
class EntryWriter {
   public:
    EntryWriter(const schema::Session& s, const schema::Connection& c) : s_(s), c_(c) {}

    void frame(const schema::Frame& f) {
        sent_until(f.seq);
        if (s_.transport == schema::Transport::sse) {
            body_ += f.bytes;
            frame_times_.push_back(seconds(wall(f.offset_ns)));
            return;
        }
        const int opcode = schema::is_text_kind(f.columns.kind)          ? 1
                           : f.columns.kind == schema::FrameKind::binary ? 2
                           : f.columns.kind == schema::FrameKind::ping   ? 9
                                                                         : 10;
        messages_.push_back(message("receive", wall(f.offset_ns), opcode, f.bytes));
    }
    void client_message(const schema::ClientMessage& m) { pending_.push_back(&m); }
    // The gap this connection's end opened: its backfill's outcome, which import-har reads back.
    void gap(const schema::Gap& g) {
        gap_ = {{"idx", g.idx},
                {"backfill_status", schema::to_string(g.backfill_status)},
                {"backfill_error", g.backfill_error}};
    }

    json finish() {
        sent_until(std::numeric_limits<std::int64_t>::max());
        if (c_.end_cause == schema::EndCause::close ||
            c_.end_cause == schema::EndCause::close_no_code) {
            std::string close;
            if (c_.close_code) {
                close += static_cast<char>(*c_.close_code >> 8);
                close += static_cast<char>(*c_.close_code & 0xff);
                close += c_.close_reason;
            }
            messages_.push_back(message("receive", wall(c_.ended_offset_ns.value_or(0)), 8, close));
        }
        const std::int64_t handshake =
            c_.handshake_offset_ns.value_or(c_.started_offset_ns) - c_.started_offset_ns;
        const std::int64_t end =
            c_.ended_offset_ns.value_or(c_.started_offset_ns) - c_.started_offset_ns;
        json e = {{"startedDateTime", schema::format_iso_us(wall(c_.started_offset_ns))},
                  {"time", whole_us(std::max(handshake, end), 1000)},
                  {"request", request()},
                  {"response", response()},
                  {"cache", json::object()},
                  {"timings",
                   {{"blocked", -1},
                    {"dns", -1},
                    {"connect", -1},
                    {"ssl", -1},
                    {"send", 0},
                    {"wait", whole_us(handshake, 1000)},
                    {"receive", 0}}}};
        if (c_.end_cause != schema::EndCause::none) {
            e["_mastotapeEnd"] = {
                {"cause", schema::to_string(c_.end_cause)},
                {"close_code", c_.close_code ? json(*c_.close_code) : json(nullptr)},
                {"close_reason", c_.close_reason},
                {"detail", c_.end_detail}};
        }
        if (!gap_.is_null()) {
            e["_mastotapeGap"] = std::move(gap_);
        }
        if (s_.transport == schema::Transport::websocket) {
            e["_resourceType"] = "websocket";
            e["_webSocketMessages"] = std::move(messages_);
        } else {
            e["_resourceType"] = "eventsource";
            e["_mastotapeFrameTimes"] = std::move(frame_times_);  // a HAR has no time per event
        }
        return e;
    }

   private:
    std::int64_t wall(std::int64_t offset_ns) const { return s_.started_wall_ns + offset_ns; }

    void sent_until(std::int64_t seq) {
        for (; next_pending_ < pending_.size() && pending_[next_pending_]->after_seq < seq;
             ++next_pending_) {
            const schema::ClientMessage& m = *pending_[next_pending_];
            messages_.push_back(message("send", wall(m.offset_ns), opcode_of(m.kind), m.bytes));
        }
    }

    json request() const {
        json query = json::array();
        const auto url = schema::parse_url(c_.url);
        const std::string target = url ? url->target : "";
        if (const auto q = target.find('?'); q != std::string::npos) {
            std::string_view rest = std::string_view(target).substr(q + 1);
            while (!rest.empty()) {
                const std::string_view pair = rest.substr(0, rest.find('&'));
                rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
                const std::string key(pair.substr(0, pair.find('=')));
                query.push_back(
                    {{"name", key}, {"value", schema::query_param(pair, key).value_or("")}});
            }
        }
        return {{"method", "GET"},           {"url", c_.url},
                {"httpVersion", "HTTP/1.1"}, {"cookies", json::array()},
                {"headers", json::array()},  {"queryString", std::move(query)},
                {"headersSize", -1},         {"bodySize", 0}};
    }

    json response() const {
        json headers = json::array();
        const json stored = json::parse(c_.response_headers_json, nullptr, false);
        if (stored.is_object()) {
            for (const auto& [name, value] : stored.items()) {
                headers.push_back(
                    {{"name", name},
                     {"value", value.is_string() ? value.get<std::string>() : value.dump()}});
            }
        }
        json content = {
            {"size", static_cast<std::int64_t>(body_.size())},
            {"mimeType", s_.transport == schema::Transport::sse ? "text/event-stream" : ""}};
        if (s_.transport == schema::Transport::sse) {
            if (schema::is_valid_utf8(body_)) {
                content["text"] = body_;
            } else {
                content["text"] = schema::base64_encode(body_);
                content["encoding"] = "base64";
            }
        }
        return {{"status", c_.http_status.value_or(0)},
                {"statusText", ""},
                {"httpVersion", "HTTP/1.1"},
                {"cookies", json::array()},
                {"headers", std::move(headers)},
                {"content", std::move(content)},
                {"redirectURL", ""},
                {"headersSize", -1},
                {"bodySize", -1}};
    }

    const schema::Session& s_;
    const schema::Connection& c_;
    json messages_ = json::array();
    std::vector<const schema::ClientMessage*> pending_;
    std::size_t next_pending_ = 0;  // the first of pending_ not yet written
    std::string body_;
    json frame_times_ = json::array();
    json gap_;
};

// One page of a gap's backfill as the GET that fetched it: the items' exact bytes as its JSON
// array, `_mastotapeGap` naming the gap.
json backfill_entry(const schema::Session& s, const std::vector<schema::BackfillItem>& page) {
    const schema::BackfillItem& first = page.front();
    std::string body = "[";
    for (const auto& item : page) {
        body += (body.size() > 1 ? "," : "") + item.body;
    }
    body += "]";
    // The instance's REST origin (a bare host is https), else the streaming one's.
    auto rest = schema::parse_url(s.instance.empty() ? s.source : s.instance);
    if (rest) {
        rest->scheme = rest->tls() ? "https" : "http";
    }
    const std::string url = (rest ? rest->origin() : s.instance) + first.endpoint +
                            (first.query.empty() ? "" : "?" + first.query);
    json content = {{"size", static_cast<std::int64_t>(body.size())},
                    {"mimeType", "application/json"}};
    if (schema::is_valid_utf8(body)) {
        content["text"] = std::move(body);
    } else {
        content["text"] = schema::base64_encode(body);
        content["encoding"] = "base64";
    }
    return {{"startedDateTime", schema::format_iso_us(first.wall_ns)},
            {"time", 0},
            {"request",
             {{"method", "GET"},
              {"url", url},
              {"httpVersion", "HTTP/1.1"},
              {"cookies", json::array()},
              {"headers", json::array()},
              {"queryString", json::array()},
              {"headersSize", -1},
              {"bodySize", 0}}},
            {"response",
             {{"status", first.http_status},
              {"statusText", ""},
              {"httpVersion", "HTTP/1.1"},
              {"cookies", json::array()},
              {"headers", json::array()},
              {"content", std::move(content)},
              {"redirectURL", ""},
              {"headersSize", -1},
              {"bodySize", -1}}},
            {"cache", json::object()},
            {"timings", {{"send", 0}, {"wait", 0}, {"receive", 0}}},
            {"_resourceType", "fetch"},
            {"_mastotapeGap", first.gap_idx}};
}

}  // namespace

void export_har(schema::TapeStore& store, std::int64_t session_id, std::ostream& out) {
    const schema::Session s = store.session(session_id);
    const std::vector<schema::Connection> connections = store.connections(session_id);
    const std::vector<schema::ClientMessage> sent = store.client_messages(session_id);
    json head = {
        {"version", "1.2"},
        {"creator", {{"name", "mastotape"}, {"version", MASTOTAPE_VERSION}}},
        {"pages", json::array()},
        {"comment", "mastotape session " + std::to_string(session_id) + " from " + s.source + " (" +
                        std::string(schema::to_string(s.transport)) + ")"}};
    std::string text = head.dump(-1, ' ', false, json::error_handler_t::replace);
    text.pop_back();  // the object's '}': the entries follow
    out << "{\"log\":" << text << ",\"entries\":[";
    schema::FrameCursor cursor = store.frames_from_seq(session_id, 1);
    schema::Frame f;
    bool have = cursor.next(f);
    std::size_t next_sent = 0;
    const std::vector<schema::Gap> gaps = store.gaps(session_id);
    for (std::size_t i = 0; i < connections.size(); ++i) {
        EntryWriter w(s, connections[i]);
        for (const auto& g : gaps) {
            if (g.from_connection_idx == connections[i].idx) {
                w.gap(g);
            }
        }
        for (; next_sent < sent.size() && sent[next_sent].connection_idx <= connections[i].idx;
             ++next_sent) {
            if (sent[next_sent].connection_idx == connections[i].idx) {
                w.client_message(sent[next_sent]);
            }
        }
        for (; have && f.connection_idx <= connections[i].idx; have = cursor.next(f)) {
            if (f.connection_idx == connections[i].idx) {
                w.frame(f);
            }
        }
        out << (i ? "," : "") << w.finish().dump(-1, ' ', false, json::error_handler_t::replace);
    }
    // The backfill, a page an entry: the items of one gap from one request, in order.
    const std::vector<schema::BackfillItem> items = store.backfill(session_id);
    for (std::size_t i = 0; i < items.size();) {
        std::size_t end = i + 1;
        while (end < items.size() && items[end].gap_idx == items[i].gap_idx &&
               items[end].endpoint == items[i].endpoint && items[end].query == items[i].query &&
               items[end].http_status == items[i].http_status) {
            ++end;
        }
        const std::vector<schema::BackfillItem> page(
            items.begin() + static_cast<std::ptrdiff_t>(i),
            items.begin() + static_cast<std::ptrdiff_t>(end));
        out << ',' << backfill_entry(s, page).dump(-1, ' ', false, json::error_handler_t::replace);
        i = end;
    }
    out << "]}}\n";
    out.flush();
    if (!out) {
        throw schema::TapeError("HAR export of session " + std::to_string(session_id) +
                                " failed: write error (disk full?)");
    }
}

}  // namespace mastotape::schema
