#include "schema/jsonl_tape.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "schema/byte_codec.hpp"
#include "schema/frame_classifier.hpp"
#include "schema/timeline.hpp"

namespace mastotape::schema {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

constexpr std::size_t kImportBatch = 5000;

void put_bytes(ojson& record, const std::string& bytes) {
    if (is_valid_utf8(bytes)) {
        record["text"] = bytes;
    } else {
        record["base64"] = base64_encode(bytes);
    }
}

ojson opt(const std::optional<std::int64_t>& v) { return v ? ojson(*v) : ojson(nullptr); }

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::strict); }

ojson session_record(const Session& s) {
    ojson subs = ojson::array();
    for (const auto& sub : s.subscriptions) {
        ojson o;
        o["stream"] = sub.stream;
        if (!sub.param.empty()) {
            o["param"] = sub.param;
        }
        subs.push_back(o);
    }
    ojson o;
    o["label"] = s.label;
    o["source"] = s.source;
    o["instance"] = s.instance;
    o["transport"] = std::string(to_string(s.transport));
    o["subscriptions"] = subs;
    o["started_wall_ns"] = s.started_wall_ns;
    o["ended_wall_ns"] = opt(s.ended_wall_ns);
    o["ended_offset_ns"] = opt(s.ended_offset_ns);
    o["end_reason"] = s.end_reason;
    o["end_detail"] = s.end_detail;
    o["settings"] = s.settings_json;
    ojson header;
    header["mastotape"] = "tape";
    header["version"] = kJsonlVersion;
    header["session"] = o;
    return header;
}

ojson connection_record(const Connection& c) {
    ojson o;
    o["type"] = "connection";
    o["idx"] = c.idx;
    o["url"] = c.url;
    o["started_offset_ns"] = c.started_offset_ns;
    o["started_wall_ns"] = c.started_wall_ns;
    o["handshake_offset_ns"] = opt(c.handshake_offset_ns);
    o["http_status"] = opt(c.http_status);
    o["error_message"] = c.error_message;
    o["subprotocol"] = c.subprotocol;
    o["response_headers"] = c.response_headers_json;
    o["ended_offset_ns"] = opt(c.ended_offset_ns);
    o["ended_wall_ns"] = opt(c.ended_wall_ns);
    o["end_cause"] = c.end_cause;
    o["close_code"] = opt(c.close_code);
    o["close_reason"] = c.close_reason;
    o["end_detail"] = c.end_detail;
    return o;
}

ojson gap_record(const Gap& g) {
    ojson o;
    o["type"] = "gap";
    o["idx"] = g.idx;
    o["from_conn"] = g.from_connection_idx;
    o["start_offset_ns"] = g.start_offset_ns;
    o["start_wall_ns"] = g.start_wall_ns;
    o["end_offset_ns"] = opt(g.end_offset_ns);
    o["end_wall_ns"] = opt(g.end_wall_ns);
    o["cause"] = g.cause;
    o["last_seq_before"] = g.last_seq_before;
    o["backfill_status"] = g.backfill_status;
    o["backfill_error"] = g.backfill_error;
    o["backfilled"] = g.backfilled;
    return o;
}

ojson client_record(const ClientMessage& m) {
    ojson o;
    o["type"] = "client";
    o["seq"] = m.seq;
    o["conn"] = m.connection_idx;
    o["offset_ns"] = m.offset_ns;
    o["wall_ns"] = m.wall_ns;
    o["after_seq"] = m.after_seq;
    o["kind"] = m.kind;
    put_bytes(o, m.bytes);
    return o;
}

ojson frame_record(const Frame& f) {
    ojson o;
    o["type"] = "frame";
    o["seq"] = f.seq;
    o["conn"] = f.connection_idx;
    o["offset_ns"] = f.offset_ns;
    o["wall_ns"] = f.wall_ns;
    o["kind"] = std::string(to_string(f.columns.kind));
    if (f.columns.event) {
        o["event"] = *f.columns.event;
    }
    if (f.columns.stream) {
        o["stream"] = ojson::parse(*f.columns.stream, nullptr, false);
    }
    if (f.columns.object_id) {
        o["id"] = *f.columns.object_id;
    }
    if (!f.columns.parse_ok) {
        o["unparsed"] = true;
    }
    put_bytes(o, f.bytes);
    return o;
}

ojson backfill_record(const BackfillItem& b) {
    ojson o;
    o["type"] = "backfill";
    o["seq"] = b.seq;
    o["gap"] = b.gap_idx;
    o["offset_ns"] = b.offset_ns;
    o["wall_ns"] = b.wall_ns;
    o["endpoint"] = b.endpoint;
    o["query"] = b.query;
    o["http_status"] = b.http_status;
    o["id"] = b.object_id;
    o["already_streamed"] = b.already_streamed;
    put_bytes(o, b.body);
    return o;
}

// ---- import ----

struct LineError {
    std::string reason;
};

[[noreturn]] void bad(const std::string& reason) { throw LineError{reason}; }

const json& field(const json& o, const char* key) {
    if (!o.contains(key)) {
        bad(std::string("missing key \"") + key + "\"");
    }
    return o.at(key);
}

std::int64_t get_int(const json& o, const char* key) {
    const json& v = field(o, key);
    if (!v.is_number_integer()) {
        bad(std::string("\"") + key + "\" must be an integer");
    }
    return v.get<std::int64_t>();
}

std::optional<std::int64_t> get_opt_int(const json& o, const char* key) {
    const json& v = field(o, key);
    if (v.is_null()) {
        return std::nullopt;
    }
    if (!v.is_number_integer()) {
        bad(std::string("\"") + key + "\" must be an integer or null");
    }
    return v.get<std::int64_t>();
}

std::string get_str(const json& o, const char* key) {
    const json& v = field(o, key);
    if (!v.is_string()) {
        bad(std::string("\"") + key + "\" must be a string");
    }
    return v.get<std::string>();
}

bool get_bool(const json& o, const char* key) {
    const json& v = field(o, key);
    if (!v.is_boolean()) {
        bad(std::string("\"") + key + "\" must be true or false");
    }
    return v.get<bool>();
}

std::string get_bytes(const json& o) {
    if (o.contains("text")) {
        return get_str(o, "text");
    }
    if (o.contains("base64")) {
        auto bytes = base64_decode(get_str(o, "base64"));
        if (!bytes) {
            bad("\"base64\" is not valid base64");
        }
        if (is_valid_utf8(*bytes)) {
            bad("\"base64\" holds valid UTF-8; write it as \"text\"");
        }
        return *bytes;
    }
    bad("missing key \"text\" or \"base64\"");
}

Session read_header(const json& h) {
    if (!h.is_object() || h.value("mastotape", std::string()) != "tape") {
        bad("not a mastotape JSONL tape (the first line must be the header "
            "{\"mastotape\":\"tape\",...})");
    }
    const std::int64_t version = get_int(h, "version");
    if (version > kJsonlVersion) {
        bad("JSONL tape version " + std::to_string(version) +
            " is newer than this mastotape understands (" + std::to_string(kJsonlVersion) +
            "); upgrade mastotape");
    }
    const json& o = field(h, "session");
    Session s;
    s.label = get_str(o, "label");
    s.source = get_str(o, "source");
    s.instance = get_str(o, "instance");
    auto transport = transport_from_string(get_str(o, "transport"));
    if (!transport) {
        bad("\"transport\" must be \"websocket\" or \"sse\"");
    }
    s.transport = *transport;
    const json& subs = field(o, "subscriptions");
    if (!subs.is_array()) {
        bad("\"subscriptions\" must be an array");
    }
    for (const auto& sub : subs) {
        Subscription parsed;
        parsed.stream = get_str(sub, "stream");
        if (sub.contains("param")) {
            parsed.param = get_str(sub, "param");
        }
        s.subscriptions.push_back(parsed);
    }
    s.started_wall_ns = get_int(o, "started_wall_ns");
    s.ended_wall_ns = get_opt_int(o, "ended_wall_ns");
    s.ended_offset_ns = get_opt_int(o, "ended_offset_ns");
    s.end_reason = get_str(o, "end_reason");
    s.end_detail = get_str(o, "end_detail");
    s.settings_json = get_str(o, "settings");
    s.updated_wall_ns = s.ended_wall_ns.value_or(s.started_wall_ns);
    return s;
}

std::string sse_label_of(const Session& s) {
    if (s.transport != Transport::sse || s.subscriptions.empty()) {
        return "";
    }
    return s.subscriptions.front().label();
}

// Checks that a frame's derived keys, if given, agree with its bytes.
void check_derived(const json& o, const FrameColumns& expected) {
    auto differs = [&](const char* key, const std::optional<std::string>& want) {
        if (!o.contains(key)) {
            return want.has_value();
        }
        if (!want) {
            return true;
        }
        if (std::string(key) == "stream") {
            return json::parse(*want, nullptr, false) != o.at(key);
        }
        return !o.at(key).is_string() || o.at(key).get<std::string>() != *want;
    };
    for (const char* key : {"event", "stream", "id"}) {
        const auto& want = std::string(key) == "event"    ? expected.event
                           : std::string(key) == "stream" ? expected.stream
                                                          : expected.object_id;
        if (differs(key, want)) {
            bad(std::string("\"") + key + "\" does not match the frame's bytes (expected " +
                (want ? *want : std::string("no such key")) + ")");
        }
    }
    const bool unparsed = o.contains("unparsed") && get_bool(o, "unparsed");
    if (unparsed == expected.parse_ok) {
        bad(std::string("\"unparsed\" does not match the frame's bytes (they ") +
            (expected.parse_ok ? "parse" : "do not parse") + ")");
    }
}

}  // namespace

std::string to_jsonl(const TimelineEntry& e) {
    switch (e.kind) {
        case TimelineKind::connection_opened:
            return dump(connection_record(*e.connection));
        case TimelineKind::gap_started:
            return dump(gap_record(*e.gap));
        case TimelineKind::client_message:
            return dump(client_record(*e.client_message));
        case TimelineKind::frame:
            return dump(frame_record(*e.frame));
        case TimelineKind::backfill:
            return dump(backfill_record(*e.backfill));
        case TimelineKind::connection_ended:
        case TimelineKind::gap_ended:
            break;
    }
    return "";
}

void export_session(TapeStore& store, std::int64_t session_id, std::ostream& out) {
    out << dump(session_record(store.session(session_id))) << '\n';
    // Connections and gaps are whole records at their start; their ends are inside them.
    walk_timeline(store, session_id, [&](const TimelineEntry& e) {
        if (e.kind != TimelineKind::connection_ended && e.kind != TimelineKind::gap_ended) {
            out << to_jsonl(e) << '\n';
        }
        return static_cast<bool>(out);
    });
    out.flush();
    if (!out) {
        throw TapeError("export of session " + std::to_string(session_id) +
                        " failed: write error (disk full?)");
    }
}

std::int64_t import_jsonl(TapeStore& store, std::istream& in, const std::string& name) {
    std::int64_t line_no = 0;
    std::int64_t session_id = 0;
    try {
        store.in_transaction([&] {
            std::string line;
            if (!std::getline(in, line)) {
                line_no = 1;
                bad("empty file");
            }
            line_no = 1;
            const json header = json::parse(line, nullptr, false);
            if (header.is_discarded()) {
                bad("not JSON");
            }
            const Session s = read_header(header);
            const std::string sse_label = sse_label_of(s);
            session_id = store.create_session(s);

            Batch batch;
            batch.session_id = session_id;
            std::int64_t next_frame = 1;
            std::int64_t next_client = 1;
            std::int64_t next_backfill = 1;
            std::int64_t next_connection = 0;
            std::int64_t next_gap = 0;
            std::int64_t last_frame_offset = 0;
            while (std::getline(in, line)) {
                ++line_no;
                if (line.empty()) {
                    bad("empty line");
                }
                const json o = json::parse(line, nullptr, false);
                if (o.is_discarded() || !o.is_object()) {
                    bad("not a JSON object");
                }
                const std::string type = get_str(o, "type");
                if (type == "frame") {
                    Frame f;
                    f.session_id = session_id;
                    f.seq = get_int(o, "seq");
                    if (f.seq != next_frame) {
                        bad("frame seq " + std::to_string(f.seq) + " out of order (expected " +
                            std::to_string(next_frame) + ")");
                    }
                    ++next_frame;
                    f.connection_idx = get_int(o, "conn");
                    f.offset_ns = get_int(o, "offset_ns");
                    if (f.offset_ns < last_frame_offset) {
                        bad("frame offset_ns goes backwards");
                    }
                    last_frame_offset = f.offset_ns;
                    f.wall_ns = get_int(o, "wall_ns");
                    auto kind = frame_kind_from_string(get_str(o, "kind"));
                    if (!kind) {
                        bad("unknown frame kind \"" + get_str(o, "kind") + "\"");
                    }
                    f.bytes = get_bytes(o);
                    f.columns = expected_columns(s.transport, *kind, f.bytes, sse_label);
                    if (f.columns.kind != *kind) {
                        bad("kind \"" + get_str(o, "kind") +
                            "\" does not match the frame's bytes "
                            "(they are " +
                            std::string(to_string(f.columns.kind)) + ")");
                    }
                    check_derived(o, f.columns);
                    batch.frames.push_back(std::move(f));
                } else if (type == "connection") {
                    Connection c;
                    c.session_id = session_id;
                    c.idx = get_int(o, "idx");
                    if (c.idx != next_connection++) {
                        bad("connection idx " + std::to_string(c.idx) + " out of order (expected " +
                            std::to_string(next_connection - 1) + ")");
                    }
                    c.url = get_str(o, "url");
                    c.started_offset_ns = get_int(o, "started_offset_ns");
                    c.started_wall_ns = get_int(o, "started_wall_ns");
                    c.handshake_offset_ns = get_opt_int(o, "handshake_offset_ns");
                    c.http_status = get_opt_int(o, "http_status");
                    c.error_message = get_str(o, "error_message");
                    c.subprotocol = get_str(o, "subprotocol");
                    c.response_headers_json = get_str(o, "response_headers");
                    c.ended_offset_ns = get_opt_int(o, "ended_offset_ns");
                    c.ended_wall_ns = get_opt_int(o, "ended_wall_ns");
                    c.end_cause = get_str(o, "end_cause");
                    c.close_code = get_opt_int(o, "close_code");
                    c.close_reason = get_str(o, "close_reason");
                    c.end_detail = get_str(o, "end_detail");
                    batch.connections.push_back(std::move(c));
                } else if (type == "gap") {
                    Gap g;
                    g.session_id = session_id;
                    g.idx = get_int(o, "idx");
                    if (g.idx != next_gap++) {
                        bad("gap idx " + std::to_string(g.idx) + " out of order (expected " +
                            std::to_string(next_gap - 1) + ")");
                    }
                    g.from_connection_idx = get_int(o, "from_conn");
                    g.start_offset_ns = get_int(o, "start_offset_ns");
                    g.start_wall_ns = get_int(o, "start_wall_ns");
                    g.end_offset_ns = get_opt_int(o, "end_offset_ns");
                    g.end_wall_ns = get_opt_int(o, "end_wall_ns");
                    g.cause = get_str(o, "cause");
                    g.last_seq_before = get_int(o, "last_seq_before");
                    g.backfill_status = get_str(o, "backfill_status");
                    g.backfill_error = get_str(o, "backfill_error");
                    g.backfilled = get_int(o, "backfilled");
                    batch.gaps.push_back(std::move(g));
                } else if (type == "client") {
                    ClientMessage m;
                    m.session_id = session_id;
                    m.seq = get_int(o, "seq");
                    if (m.seq != next_client) {
                        bad("client seq " + std::to_string(m.seq) + " out of order (expected " +
                            std::to_string(next_client) + ")");
                    }
                    ++next_client;
                    m.connection_idx = get_int(o, "conn");
                    m.offset_ns = get_int(o, "offset_ns");
                    m.wall_ns = get_int(o, "wall_ns");
                    m.after_seq = get_int(o, "after_seq");
                    m.kind = get_str(o, "kind");
                    m.bytes = get_bytes(o);
                    batch.client_messages.push_back(std::move(m));
                } else if (type == "backfill") {
                    BackfillItem b;
                    b.session_id = session_id;
                    b.seq = get_int(o, "seq");
                    if (b.seq != next_backfill) {
                        bad("backfill seq " + std::to_string(b.seq) + " out of order (expected " +
                            std::to_string(next_backfill) + ")");
                    }
                    ++next_backfill;
                    b.gap_idx = get_int(o, "gap");
                    b.offset_ns = get_int(o, "offset_ns");
                    b.wall_ns = get_int(o, "wall_ns");
                    b.endpoint = get_str(o, "endpoint");
                    b.query = get_str(o, "query");
                    b.http_status = get_int(o, "http_status");
                    b.object_id = get_str(o, "id");
                    b.already_streamed = get_bool(o, "already_streamed");
                    b.body = get_bytes(o);
                    batch.backfill.push_back(std::move(b));
                } else {
                    bad("unknown record type \"" + type + "\"");
                }
                if (batch.size() >= kImportBatch) {
                    store.append(batch);
                    batch = Batch{};
                    batch.session_id = session_id;
                }
            }
            if (in.bad()) {
                bad("read error");
            }
            store.append(batch);
        });
    } catch (const LineError& e) {
        throw TapeError(name + ":" + std::to_string(line_no) + ": " + e.reason);
    } catch (const TapeError& e) {
        // A constraint failure (duplicate connection idx, ...) is still this line's fault.
        throw TapeError(name + ":" + std::to_string(line_no) + ": " + e.what());
    }
    return session_id;
}

}  // namespace mastotape::schema
