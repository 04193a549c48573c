#include "schema/formats/jsonl_tape.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/tape/rows.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "schema/tape/timeline.hpp"
#include "schema/text/byte_codec.hpp"

namespace mastotape::schema {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

constexpr std::size_t kImportBatch = 5000;

// Each record kind's `type`, in the order of Record's alternatives.
constexpr std::array<std::string_view, std::variant_size_v<Record>> kTypes = {
    "connection", "gap", "client", "frame", "backfill"};

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::strict); }

// ---- export ----

void put_bytes(ojson& record, const std::string& bytes) {
    if (is_valid_utf8(bytes)) {
        record["text"] = bytes;
    } else {
        record["base64"] = base64_encode(bytes);
    }
}

ojson subscriptions_array(const std::vector<Subscription>& subs) {
    ojson array = ojson::array();
    for (const auto& sub : subs) {
        ojson o;
        o["stream"] = sub.stream;
        if (!sub.param.empty()) {
            o["param"] = sub.param;
        }
        array.push_back(o);
    }
    return array;
}

// Adds `r`'s fields to `o` in the order of its field table.
template <typename Record>
void put_fields(ojson& o, const Record& r) {
    // The field table hands out pointers into a record; writing only reads through them.
    auto& record = const_cast<Record&>(r);
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        if (f.jsonl == InJsonl::no) {
            continue;
        }
        const std::string key(f.key);
        std::visit(
            Overloaded{
                [&](std::int64_t* v) { o[key] = *v; },
                [&](std::optional<std::int64_t>* v) { o[key] = *v ? ojson(**v) : ojson(nullptr); },
                [&](std::string* v) { o[key] = *v; }, [&](bool* v) { o[key] = *v; },
                [&](std::optional<std::string>* v) {
                    if (*v) {
                        o[key] = **v;
                    }
                },
                [&](BytesRef b) { put_bytes(o, *b.value); },
                [&](LabelRef l) {
                    if (*l.value) {
                        o[key] = ojson::parse(**l.value, nullptr, false);
                    }
                },
                [&](ParsedRef p) {
                    if (!*p.parse_ok) {
                        o[key] = true;
                    }
                },
                [&](std::vector<Subscription>* v) { o[key] = subscriptions_array(*v); },
                [&](auto* e) { o[key] = std::string(to_string(*e)); },  // enums by name
            },
            f.ref(record));
    }
}

std::string line_of(const Record& record) {
    ojson o;
    o["type"] = kTypes[record.index()];
    std::visit([&](const auto& r) { put_fields(o, r); }, record);
    return dump(o);
}

}  // namespace

std::string header_jsonl(const Session& s) {
    ojson session;
    put_fields(session, s);
    ojson header;
    header["mastotape"] = "tape";
    header["version"] = kJsonlVersion;
    header["session"] = session;
    return dump(header);
}

namespace {

// ---- import ----

struct LineError {
    std::string reason;
    std::int64_t line = 0;  // 0: the line being read
};

[[noreturn]] void bad(const std::string& reason) { throw LineError{reason}; }

const json& field(const json& o, std::string_view key) {
    const auto it = o.find(key);
    if (it == o.end()) {
        bad("missing key \"" + std::string(key) + "\"");
    }
    return *it;
}

std::int64_t get_int(const json& o, std::string_view key) {
    const json& v = field(o, key);
    if (!v.is_number_integer()) {
        bad("\"" + std::string(key) + "\" must be an integer");
    }
    return v.get<std::int64_t>();
}

std::optional<std::int64_t> get_opt_int(const json& o, std::string_view key) {
    const json& v = field(o, key);
    if (v.is_null()) {
        return std::nullopt;
    }
    if (!v.is_number_integer()) {
        bad("\"" + std::string(key) + "\" must be an integer or null");
    }
    return v.get<std::int64_t>();
}

std::string get_str(const json& o, std::string_view key) {
    const json& v = field(o, key);
    if (!v.is_string()) {
        bad("\"" + std::string(key) + "\" must be a string");
    }
    return v.get<std::string>();
}

bool get_bool(const json& o, std::string_view key) {
    const json& v = field(o, key);
    if (!v.is_boolean()) {
        bad("\"" + std::string(key) + "\" must be true or false");
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

std::vector<Subscription> get_subscriptions(const json& o, std::string_view key) {
    const json& subs = field(o, key);
    if (!subs.is_array()) {
        bad("\"" + std::string(key) + "\" must be an array");
    }
    std::vector<Subscription> out;
    for (const auto& sub : subs) {
        Subscription parsed;
        parsed.stream = get_str(sub, "stream");
        if (sub.contains("param")) {
            parsed.param = get_str(sub, "param");
        }
        out.push_back(parsed);
    }
    return out;
}

// An enum field by name; a name it does not know is the line's error.
template <typename E, typename Parse>
E get_enum(const json& o, std::string_view key, Parse parse, const char* what) {
    const std::string name = get_str(o, key);
    if (const auto v = parse(name)) {
        return *v;
    }
    bad("unknown " + std::string(what) + " \"" + name + "\"");
}

// Reads `r`'s fields (those JSONL holds, not the derived ones) from `o`.
template <typename Record>
void get_fields(const json& o, Record& r) {
    for (const auto& f : fields(static_cast<const Record*>(nullptr))) {
        if (f.jsonl != InJsonl::yes) {
            continue;
        }
        const std::string_view key = f.key;
        std::visit(Overloaded{
                       [&](std::int64_t* v) { *v = get_int(o, key); },
                       [&](std::optional<std::int64_t>* v) { *v = get_opt_int(o, key); },
                       [&](std::string* v) { *v = get_str(o, key); },
                       [&](bool* v) { *v = get_bool(o, key); },
                       [&](std::optional<std::string>* v) { *v = get_str(o, key); },
                       [&](BytesRef b) { *b.value = get_bytes(o); },
                       [&](LabelRef) {},   // derived only
                       [&](ParsedRef) {},  // derived only
                       [&](std::vector<Subscription>* v) { *v = get_subscriptions(o, key); },
                       [&](EndCause* v) {
                           *v = get_enum<EndCause>(o, key, end_cause_from_string, "end cause");
                       },
                       [&](BackfillStatus* v) {
                           *v = get_enum<BackfillStatus>(o, key, backfill_status_from_string,
                                                         "backfill status");
                       },
                       [&](FrameKind* v) {
                           *v = get_enum<FrameKind>(o, key, frame_kind_from_string, "frame kind");
                       },
                       [&](SessionEnd* v) {
                           *v = get_enum<SessionEnd>(o, key, session_end_from_string, "end reason");
                       },
                       [&](MessageKind* v) {
                           *v = get_enum<MessageKind>(o, key, message_kind_from_string,
                                                      "message kind");
                       },
                       [&](Transport* v) {
                           const auto t = transport_from_string(get_str(o, key));
                           if (!t) {
                               bad("\"transport\" must be \"websocket\" or \"sse\"");
                           }
                           *v = *t;
                       },
                   },
                   f.ref(r));
    }
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
    Session s;
    get_fields(field(h, "session"), s);
    s.updated_wall_ns = s.ended_wall_ns.value_or(s.started_wall_ns);
    return s;
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

// Numbers must run on from where the last record of their kind stopped.
void check_next(const char* what, std::int64_t got, std::int64_t& expected) {
    if (got != expected) {
        bad(std::string(what) + " " + std::to_string(got) + " out of order (expected " +
            std::to_string(expected) + ")");
    }
    ++expected;
}

// Reads one session's records into the store, in batches, checking as it goes.
class Importer {
   public:
    Importer(TapeStore& store, const Session& s, std::int64_t session_id)
        : store_(store), session_(s), sse_label_(sse_label(s)) {
        batch_.session_id = session_id;
    }

    void line(const json& o, std::int64_t line_no) {
        const std::string type = get_str(o, "type");
        if (type == "frame") {
            frame(o);
            lines_of(Kind::frame).push_back(line_no);
        } else if (type == "connection") {
            check_next("connection idx", read<Connection>(o).idx, next_connection_);
            lines_of(Kind::connection).push_back(line_no);
        } else if (type == "gap") {
            check_next("gap idx", read<Gap>(o).idx, next_gap_);
            lines_of(Kind::gap).push_back(line_no);
        } else if (type == "client") {
            check_next("client seq", read<ClientMessage>(o).seq, next_client_);
            lines_of(Kind::client_message).push_back(line_no);
        } else if (type == "backfill") {
            check_next("backfill seq", read<BackfillItem>(o).seq, next_backfill_);
            lines_of(Kind::backfill).push_back(line_no);
        } else {
            bad("unknown record type \"" + type + "\"");
        }
        if (batch_.size() >= kImportBatch) {
            flush();
        }
    }

    // Once every line is in: the checks `verify` makes, the first problem refused at the line of
    // the record it is about.
    void check_whole() {
        flush();
        const auto problems = check_session(store_, store_.session(batch_.session_id));
        if (problems.empty()) {
            return;
        }
        const SessionProblem& first = problems.front();
        std::string reason = first.text;
        if (problems.size() > 1) {
            const auto more = problems.size() - 1;
            reason += " (and " + std::to_string(more) +
                      (more == 1 ? " more problem)" : " more problems)");
        }
        throw LineError{reason, line_of(first.about)};
    }

    void flush() {
        store_.append(batch_);
        const std::int64_t id = batch_.session_id;
        batch_ = Batch{};
        batch_.session_id = id;
    }

   private:
    template <typename T>
    T& read(const json& o) {
        T& r = std::get<T>(batch_.records.emplace_back(T{}));
        r.session_id = batch_.session_id;
        get_fields(o, r);
        return r;
    }

    void frame(const json& o) {
        Frame& f = read<Frame>(o);
        check_next("frame seq", f.seq, next_frame_);
        if (f.offset_ns < last_frame_offset_) {
            bad("frame offset_ns goes backwards");
        }
        last_frame_offset_ = f.offset_ns;
        const FrameKind kind = f.columns.kind;
        f.columns = expected_columns(session_.transport, kind, f.bytes, sse_label_);
        if (f.columns.kind != kind) {
            bad("kind \"" + std::string(to_string(kind)) +
                "\" does not match the frame's bytes (they are " +
                std::string(to_string(f.columns.kind)) + ")");
        }
        check_derived(o, f.columns);
    }

    using Kind = RecordRef::Kind;
    // The lines records came from, by kind, in record order (numbers are checked to be gapless:
    // connections and gaps from 0, the others from 1).
    std::vector<std::int64_t>& lines_of(Kind k) { return lines_[static_cast<std::size_t>(k)]; }
    std::int64_t line_of(const RecordRef& r) {
        const bool from_one =
            r.kind == Kind::frame || r.kind == Kind::client_message || r.kind == Kind::backfill;
        const auto& lines = lines_of(r.kind);
        const std::int64_t at = r.number - (from_one ? 1 : 0);
        if (r.kind == Kind::session || at < 0 || at >= static_cast<std::int64_t>(lines.size())) {
            return 1;  // the header
        }
        return lines[static_cast<std::size_t>(at)];
    }

    TapeStore& store_;
    const Session& session_;
    std::string sse_label_;
    Batch batch_;
    std::array<std::vector<std::int64_t>, 6> lines_;
    std::int64_t next_frame_ = 1;
    std::int64_t next_client_ = 1;
    std::int64_t next_backfill_ = 1;
    std::int64_t next_connection_ = 0;
    std::int64_t next_gap_ = 0;
    std::int64_t last_frame_offset_ = 0;
};

}  // namespace

std::string_view jsonl_type(const Record& r) { return kTypes[r.index()]; }

std::string to_jsonl(const Record& r) { return line_of(r); }

std::string to_jsonl(const TimelineEntry& e) {
    const bool an_end =
        e.kind == TimelineKind::connection_ended || e.kind == TimelineKind::gap_ended;
    return an_end ? "" : line_of(e.record);
}

void export_session(TapeStore& store, std::int64_t session_id, std::ostream& out) {
    out << header_jsonl(store.session(session_id)) << '\n';
    // Connections and gaps are whole records at their start; their ends are inside them.
    walk_timeline(store, session_id, [&](const TimelineEntry& e) {
        if (const std::string line = to_jsonl(e); !line.empty()) {
            out << line << '\n';
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
            line_no = 1;
            if (!std::getline(in, line)) {
                bad("empty file");
            }
            const json header = json::parse(line, nullptr, false);
            if (header.is_discarded()) {
                bad("not JSON");
            }
            const Session s = read_header(header);
            session_id = store.create_session(s);
            Importer importer(store, s, session_id);
            while (std::getline(in, line)) {
                ++line_no;
                if (line.empty()) {
                    bad("empty line");
                }
                const json o = json::parse(line, nullptr, false);
                if (o.is_discarded() || !o.is_object()) {
                    bad("not a JSON object");
                }
                importer.line(o, line_no);
            }
            if (in.bad()) {
                bad("read error");
            }
            importer.check_whole();
        });
    } catch (const LineError& e) {
        throw TapeError(name + ":" + std::to_string(e.line != 0 ? e.line : line_no) + ": " +
                        e.reason);
    } catch (const TapeError& e) {
        // A constraint failure (duplicate connection idx, ...) is still this line's fault.
        throw TapeError(name + ":" + std::to_string(line_no) + ": " + e.what());
    }
    return session_id;
}

}  // namespace mastotape::schema
