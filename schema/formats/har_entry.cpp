// import-har's first half: one streaming entry of a HAR read as a session of one connection
// (see har_entry.hpp).

#include "schema/formats/har_entry.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "schema/formats/har.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/iso_time.hpp"
#include "schema/mastodon/sse_splitter.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/session_numbering.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "schema/text/byte_codec.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::schema {

using nlohmann::json;

std::string text_of(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& member(const json& j, const char* key) {
    static const json kNull;
    const auto it = j.find(key);
    return it != j.end() ? *it : kNull;
}

// The HAR's header list as the tape keeps response headers: a JSON object text, in order, with
// the token (`Sec-WebSocket-Protocol`) marked and cookies left out.
std::string headers_json(const json& headers) {
    std::string out = "{";
    for (const json& h : headers.is_array() ? headers : json::array()) {
        std::string name = text_of(h, "name");
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (name.empty() || lower == "set-cookie" || lower == "cookie") {
            continue;
        }
        if (out.size() > 1) {
            out += ',';
        }
        schema::append_json_string(out, name);
        out += ':';
        schema::append_json_string(
            out, lower == "sec-websocket-protocol" ? "[token]" : text_of(h, "value"));
    }
    return out + "}";
}

std::string header_value(const json& headers, std::string_view wanted) {
    for (const json& h : headers.is_array() ? headers : json::array()) {
        std::string name = text_of(h, "name");
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        if (name == wanted) {
            return text_of(h, "value");
        }
    }
    return "";
}

bool is_websocket(const json& e) {
    const std::string url = text_of(member(e, "request"), "url");
    return member(e, "_webSocketMessages").is_array() ||
           text_of(e, "_resourceType") == "websocket" || url.rfind("ws://", 0) == 0 ||
           url.rfind("wss://", 0) == 0;
}

bool is_event_stream(const json& e) {
    return text_of(member(member(e, "response"), "content"), "mimeType")
               .rfind("text/event-stream", 0) == 0;
}

namespace {

// A backfill's outcome as export_har writes it in `_mastotapeGap`.
void read_gap(const json& gap, HarDraft& d) {
    if (const auto status = schema::backfill_status_from_string(text_of(gap, "backfill_status"))) {
        d.gap_status = *status;
        d.gap_error = text_of(gap, "backfill_error");
    }
}

class EntryReader {
   public:
    EntryReader(const json& e, std::size_t index, const std::string& name)
        : e_(e), where_(name + ": entry " + std::to_string(index)) {}

    HarDraft read() {
        const std::string raw_url = text_of(member(e_, "request"), "url");
        const std::string url = schema::without_access_token(raw_url);
        const auto parsed = schema::parse_url(url);
        if (!parsed) {
            fail("its URL is not one mastotape can read: " + schema::preview(url, 100));
        }
        const auto started = schema::parse_iso(text_of(e_, "startedDateTime"));
        if (!started) {
            fail("startedDateTime is not an ISO 8601 time");
        }
        d_.session.source = parsed->origin();
        d_.session.instance = parsed->host;
        d_.session.started_wall_ns = *started;
        d_.session.end_reason = schema::SessionEnd::stopped;
        d_.session.end_detail = "imported from a HAR";
        schema::Connection& c = connection_;
        c.url = url;
        c.started_wall_ns = *started;
        const json& response = member(e_, "response");
        c.http_status = member(response, "status").is_number_integer()
                            ? member(response, "status").get<std::int64_t>()
                            : 0;
        c.error_message = header_value(member(response, "headers"), "x-error-message");
        c.response_headers_json = headers_json(member(response, "headers"));
        if (raw_url != url) {
            d_.notes.push_back("the access_token in the URL was left out");
        }
        const std::size_t q = parsed->target.find('?');
        path_ = parsed->target.substr(0, q);
        query_ = q == std::string::npos ? "" : parsed->target.substr(q + 1);
        if (is_websocket(e_)) {
            websocket();
        } else {
            event_stream();
        }
        recorded_end();
        d_.session.ended_wall_ns = d_.session.started_wall_ns + end_;
        d_.session.ended_offset_ns = end_;
        d_.connections.push_back(std::move(connection_));
        read_gap(member(e_, "_mastotapeGap"), d_);
        return std::move(d_);
    }

   private:
    [[noreturn]] void fail(const std::string& why) const { throw TapeError(where_ + ": " + why); }

    // `time` (epoch seconds) to the microsecond: a double holds no more of it. Refused past what
    // nanoseconds since 1970 hold (the year 2262), as a NaN or a 1e300 would be.
    std::int64_t time_ns(const json& m) const { return seconds_ns(member(m, "time")); }
    std::int64_t seconds_ns(const json& t) const {
        if (!t.is_number()) {
            return 0;
        }
        const double s = t.get<double>();
        if (!std::isfinite(s) || s < 0 || s > 9.2e9) {
            fail("a message's time, " + t.dump() + ", is not a time in seconds since 1970");
        }
        return std::llround(s * 1e6) * kUs;
    }

    // Milliseconds of the entry as nanoseconds; refused when no tape could hold them.
    std::int64_t ms_ns(const json& ms, const char* what) const {
        const double v = ms.get<double>();
        if (!std::isfinite(v) || v > static_cast<double>(schema::kMaxOffsetNs) / 1e6) {
            fail(std::string(what) + ", " + ms.dump() + " ms, is longer than a tape can hold");
        }
        return std::llround(v * 1e6);
    }

    void handshake(std::int64_t first_ns, bool ok) {
        schema::Connection& c = connection_;
        if (!ok) {
            c.end_cause = schema::EndCause::handshake_failed;
            c.ended_offset_ns = 0;
            c.ended_wall_ns = c.started_wall_ns;
            return;
        }
        c.handshake_offset_ns = std::min(handshake_took(), first_ns);
    }

    // How long the handshake took: the entry's `timings.wait`, else its `time` (milliseconds).
    std::int64_t handshake_took() const {
        for (const json* ms : {&member(member(e_, "timings"), "wait"), &member(e_, "time")}) {
            if (ms->is_number() && ms->get<double>() >= 0) {
                return ms_ns(*ms, "the handshake's time");
            }
        }
        return 0;
    }

    // The entry's `time`: when the response ended, as an offset.
    std::int64_t response_end() const {
        const json& ms = member(e_, "time");
        return ms.is_number() && ms.get<double>() > 0 ? ms_ns(ms, "the entry's time") : 0;
    }

    std::string bytes_of(const json& m, std::size_t i, bool base64) const {
        std::string data = text_of(m, "data");
        if (!base64) {
            return data;
        }
        auto decoded = schema::base64_decode(data);
        if (!decoded) {
            fail("message " + std::to_string(i) + ": its data is not base64");
        }
        return std::move(*decoded);
    }

    // One of `_webSocketMessages`, read.
    struct Message {
        bool send = false;
        int opcode = 1;
        std::string bytes;
        std::int64_t wall = 0;
        std::int64_t offset = 0;
    };
    Message message_at(const json& m, std::size_t i) const;
    void websocket();
    void sent(Message&& m);
    void received(Message&& m);
    void close_from(const std::string& payload, std::int64_t at, schema::EndCause cause);
    void event_stream();
    void recorded_end();
    void subscriptions_from(const std::vector<std::string>& texts);
    void end_connection(std::int64_t at_ns, schema::EndCause cause, const std::string& detail);

    const json& e_;
    std::string where_;
    std::string path_;
    std::string query_;
    HarDraft d_;
    schema::Connection connection_;  // the entry's one connection
    schema::SessionNumbering numbering_;
    std::int64_t end_ = 0;                 // the connection's end, as an offset
    std::vector<std::string> sent_texts_;  // the client's text messages (its subscriptions)
    std::string client_close_;             // the client's close frame's payload
};

// mastotape's own `_mastotapeEnd` (export_har writes it): how the connection ended, which a HAR
// has no field for (an eof, a reset, a heartbeat timeout leave no close frame).
void EntryReader::recorded_end() {
    const json& end = member(e_, "_mastotapeEnd");
    const auto cause = schema::end_cause_from_string(text_of(end, "cause"));
    if (!cause || *cause == schema::EndCause::none || !connection_.ended_offset_ns) {
        return;
    }
    schema::Connection& c = connection_;
    c.end_cause = *cause;
    const json& code = member(end, "close_code");
    c.close_code =
        code.is_number_integer() ? std::optional(code.get<std::int64_t>()) : std::nullopt;
    c.close_reason = text_of(end, "close_reason");
    c.end_detail = text_of(end, "detail");
}

void EntryReader::end_connection(std::int64_t at_ns, schema::EndCause cause,
                                 const std::string& detail) {
    schema::Connection& c = connection_;
    c.end_cause = cause;
    c.ended_offset_ns = at_ns;
    c.ended_wall_ns = d_.session.started_wall_ns + at_ns;
    c.end_detail = detail;
    end_ = at_ns;
}

void EntryReader::subscriptions_from(const std::vector<std::string>& texts) {
    auto& subs = d_.session.subscriptions;
    const auto add = [&](const schema::Subscription& s) {
        if (!s.stream.empty() && std::find(subs.begin(), subs.end(), s) == subs.end()) {
            subs.push_back(s);
        }
    };
    if (const auto stream = schema::query_param(query_, "stream")) {
        schema::Subscription s{*stream, ""};
        s.param = schema::query_param(query_, "tag")
                      .value_or(schema::query_param(query_, "list").value_or(""));
        add(s);
    }
    for (const std::string& text : texts) {
        const schema::ClientCommand m = schema::parse_client_message(text);
        if (m.valid_json && m.type == "subscribe") {
            add(m.subscription);
        }
    }
}

void EntryReader::websocket() {
    d_.session.transport = schema::Transport::websocket;
    const json& all = member(e_, "_webSocketMessages");
    std::vector<Message> messages;
    for (std::size_t i = 0; all.is_array() && i < all.size(); ++i) {
        messages.push_back(message_at(all[i], i));
    }
    // In time order; messages with one time keep the HAR's order.
    std::stable_sort(messages.begin(), messages.end(),
                     [](const Message& a, const Message& b) { return a.offset < b.offset; });
    handshake(messages.empty() ? 0 : messages.front().offset, connection_.http_status == 101);
    const json& headers = member(member(e_, "response"), "headers");
    if (connection_.http_status == 101 &&
        !header_value(headers, "sec-websocket-protocol").empty()) {
        connection_.subprotocol = "[token]";
        d_.notes.push_back("the token in Sec-WebSocket-Protocol was left out");
    }
    std::int64_t last = connection_.handshake_offset_ns.value_or(0);
    std::int64_t after_close = 0;
    for (Message& m : messages) {
        last = std::max(last, m.offset);
        if (m.send) {
            sent(std::move(m));
        } else if (connection_.ended_offset_ns) {
            ++after_close;
        } else if (m.opcode == 8) {
            close_from(m.bytes, m.offset, schema::EndCause::close);
        } else {
            received(std::move(m));
        }
    }
    if (after_close > 0) {
        d_.notes.push_back(std::to_string(after_close) +
                           " frames received after the server's close were left out");
    }
    subscriptions_from(sent_texts_);
    if (!connection_.ended_offset_ns) {  // the capture stopped: the client's own close, if any
        close_from(client_close_, std::max(last, response_end()), schema::EndCause::local_stop);
        connection_.end_detail = "the HAR capture ends here";
    }
}

EntryReader::Message EntryReader::message_at(const json& m, std::size_t i) const {
    Message out;
    const std::string type = text_of(m, "type");
    if (type != "send" && type != "receive") {
        fail("message " + std::to_string(i) + ": type is neither send nor receive");
    }
    out.send = type == "send";
    out.opcode = member(m, "opcode").is_number_integer() ? member(m, "opcode").get<int>() : 1;
    if (!kind_of_opcode(out.opcode)) {
        fail("message " + std::to_string(i) + ": opcode " + std::to_string(out.opcode) +
             " is not a WebSocket frame's");
    }
    out.bytes = bytes_of(m, i, out.opcode != 1 || text_of(m, "_mastotapeEncoding") == "base64");
    out.wall = std::max(time_ns(m), d_.session.started_wall_ns);
    out.offset = out.wall - d_.session.started_wall_ns;
    return out;
}

void EntryReader::sent(Message&& m) {
    schema::ClientMessage cm;
    cm.seq = numbering_.next_client_message();
    cm.offset_ns = m.offset;
    cm.wall_ns = m.wall;
    cm.after_seq = numbering_.last_frame();
    cm.kind = *kind_of_opcode(m.opcode);
    if (m.opcode == 1) {
        sent_texts_.push_back(m.bytes);
    } else if (m.opcode == 8) {
        client_close_ = m.bytes;
    }
    cm.bytes = std::move(m.bytes);
    d_.client_messages.push_back(std::move(cm));
}

void EntryReader::received(Message&& m) {
    schema::Frame f;
    f.seq = numbering_.next_frame();
    f.offset_ns = m.offset;
    f.wall_ns = m.wall;
    const schema::FrameKind kind = m.opcode == 1   ? schema::FrameKind::text
                                   : m.opcode == 2 ? schema::FrameKind::binary
                                   : m.opcode == 9 ? schema::FrameKind::ping
                                                   : schema::FrameKind::pong;
    f.columns = schema::expected_columns(schema::Transport::websocket, kind, m.bytes, "");
    f.bytes = std::move(m.bytes);
    d_.frames.push_back(std::move(f));
}

// Ends the connection at `at` by a close frame's payload: a code in its first two bytes, then
// the reason. A server's close without a code is close-no-code.
void EntryReader::close_from(const std::string& payload, std::int64_t at, schema::EndCause cause) {
    if (payload.size() >= 2) {
        connection_.close_code =
            (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        connection_.close_reason = payload.substr(2);
    } else if (cause == schema::EndCause::close) {
        cause = schema::EndCause::close_no_code;
    }
    end_connection(at, cause, "");
}

void EntryReader::event_stream() {
    d_.session.transport = schema::Transport::sse;
    const auto sub = schema::sse_subscription(path_, query_);
    if (!sub) {
        fail(path_ + " is not a streaming path Mastodon serves");
    }
    d_.session.subscriptions = {*sub};
    const json& content = member(member(e_, "response"), "content");
    std::string body = text_of(content, "text");
    if (text_of(content, "encoding") == "base64") {
        auto decoded = schema::base64_decode(body);
        if (!decoded) {
            fail("its content is marked base64 but is not");
        }
        body = std::move(*decoded);
    }
    const bool ok = connection_.http_status == 200;
    if (ok && body.empty()) {
        fail(
            "the event stream's body is not in the HAR (browsers leave it out of an open "
            "stream; mitmproxy keeps it)");
    }
    const std::int64_t at = response_end();
    schema::SseSplitter splitter;
    splitter.feed(body);
    std::vector<std::string> blocks;
    while (auto block = splitter.next()) {
        blocks.push_back(std::move(*block));
    }
    if (splitter.buffered() > 0) {
        blocks.push_back(body.substr(body.size() - splitter.buffered()));
        d_.notes.push_back("the body ends inside an event: kept as the last frame");
    }
    // mastotape's `_mastotapeFrameTimes` (export_har writes it): each event's time.
    const json& times = member(e_, "_mastotapeFrameTimes");
    const bool timed = !blocks.empty() && times.is_array() && times.size() == blocks.size();
    const auto offset_of = [&](std::size_t i) {
        return timed ? std::max(seconds_ns(times[i]) - d_.session.started_wall_ns, std::int64_t{0})
                     : at;
    };
    handshake(blocks.empty() ? at : offset_of(0), ok);
    const std::string label = schema::sse_label(d_.session);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        schema::Frame f;
        f.seq = numbering_.next_frame();
        f.offset_ns = offset_of(i);
        f.wall_ns = d_.session.started_wall_ns + f.offset_ns;
        f.columns = schema::classify_text(schema::Transport::sse, blocks[i], label);
        f.bytes = std::move(blocks[i]);
        d_.frames.push_back(std::move(f));
    }
    if (!blocks.empty() && !timed) {
        d_.notes.push_back("a HAR keeps no time for each SSE event: all " +
                           std::to_string(blocks.size()) +
                           " frames are placed at the response's end");
    }
    if (ok) {
        end_connection(at, schema::EndCause::local_stop, "the HAR capture ends here");
    }
}

}  // namespace

Batch HarDraft::take_batch(std::int64_t session_id) {
    Batch b;
    b.session_id = session_id;
    const auto take = [&](auto& records) {
        for (auto& r : records) {
            r.session_id = session_id;
            b.records.emplace_back(std::move(r));
        }
        records.clear();
    };
    take(connections);
    take(frames);
    take(client_messages);
    take(gaps);
    take(backfill);
    return b;
}

HarDraft read_har_entry(const json& entry, std::size_t index, const std::string& name) {
    return EntryReader(entry, index, name).read();
}

}  // namespace mastotape::schema
