#include "schema/tape/rows.hpp"

#include <array>

#include <nlohmann/json.hpp>

namespace mastotape::schema {
namespace {

// A field kept under the same name in SQL and JSONL.
template <typename R>
constexpr Field<R> same(std::string_view name, FieldRef (*ref)(R&), InJsonl jsonl = InJsonl::yes) {
    return {name, name, jsonl, false, ref};
}

// A field with its own JSONL key.
template <typename R>
constexpr Field<R> keyed(std::string_view column, std::string_view key, FieldRef (*ref)(R&),
                         InJsonl jsonl = InJsonl::yes) {
    return {column, key, jsonl, false, ref};
}

// Bytes the store may keep compressed (Field::packed).
template <typename R>
constexpr Field<R> packed(std::string_view column, FieldRef (*ref)(R&)) {
    return {column, "text", InJsonl::yes, false, ref, true};
}

using S = Session;
const auto kSession = std::to_array<Field<S>>({
    {"id", "id", InJsonl::no, true, [](S& s) -> FieldRef { return &s.id; }},
    same<S>("label", [](S& s) -> FieldRef { return &s.label; }),
    same<S>("source", [](S& s) -> FieldRef { return &s.source; }),
    same<S>("instance", [](S& s) -> FieldRef { return &s.instance; }),
    same<S>("transport", [](S& s) -> FieldRef { return &s.transport; }),
    same<S>("subscriptions", [](S& s) -> FieldRef { return &s.subscriptions; }),
    same<S>("started_wall_ns", [](S& s) -> FieldRef { return &s.started_wall_ns; }),
    same<S>("ended_wall_ns", [](S& s) -> FieldRef { return &s.ended_wall_ns; }),
    same<S>("ended_offset_ns", [](S& s) -> FieldRef { return &s.ended_offset_ns; }),
    same<S>("end_reason", [](S& s) -> FieldRef { return &s.end_reason; }),
    same<S>("end_detail", [](S& s) -> FieldRef { return &s.end_detail; }),
    same<S>("settings", [](S& s) -> FieldRef { return &s.settings_json; }),
    same<S>(
        "updated_wall_ns", [](S& s) -> FieldRef { return &s.updated_wall_ns; }, InJsonl::no),
});

using C = Connection;
const auto kConnection = std::to_array<Field<C>>({
    same<C>(
        "session_id", [](C& c) -> FieldRef { return &c.session_id; }, InJsonl::no),
    same<C>("idx", [](C& c) -> FieldRef { return &c.idx; }),
    same<C>("url", [](C& c) -> FieldRef { return &c.url; }),
    same<C>("started_offset_ns", [](C& c) -> FieldRef { return &c.started_offset_ns; }),
    same<C>("started_wall_ns", [](C& c) -> FieldRef { return &c.started_wall_ns; }),
    same<C>("handshake_offset_ns", [](C& c) -> FieldRef { return &c.handshake_offset_ns; }),
    same<C>("http_status", [](C& c) -> FieldRef { return &c.http_status; }),
    same<C>("error_message", [](C& c) -> FieldRef { return &c.error_message; }),
    same<C>("subprotocol", [](C& c) -> FieldRef { return &c.subprotocol; }),
    same<C>("response_headers", [](C& c) -> FieldRef { return &c.response_headers_json; }),
    same<C>("ended_offset_ns", [](C& c) -> FieldRef { return &c.ended_offset_ns; }),
    same<C>("ended_wall_ns", [](C& c) -> FieldRef { return &c.ended_wall_ns; }),
    same<C>("end_cause", [](C& c) -> FieldRef { return &c.end_cause; }),
    same<C>("close_code", [](C& c) -> FieldRef { return &c.close_code; }),
    same<C>("close_reason", [](C& c) -> FieldRef { return &c.close_reason; }),
    same<C>("end_detail", [](C& c) -> FieldRef { return &c.end_detail; }),
});

using F = Frame;
const auto kFrame = std::to_array<Field<F>>({
    same<F>(
        "session_id", [](F& f) -> FieldRef { return &f.session_id; }, InJsonl::no),
    same<F>("seq", [](F& f) -> FieldRef { return &f.seq; }),
    keyed<F>("connection_idx", "conn", [](F& f) -> FieldRef { return &f.connection_idx; }),
    same<F>("offset_ns", [](F& f) -> FieldRef { return &f.offset_ns; }),
    same<F>("wall_ns", [](F& f) -> FieldRef { return &f.wall_ns; }),
    same<F>("kind", [](F& f) -> FieldRef { return &f.columns.kind; }),
    same<F>(
        "event", [](F& f) -> FieldRef { return &f.columns.event; }, InJsonl::derived),
    same<F>(
        "stream", [](F& f) -> FieldRef { return LabelRef{&f.columns.stream}; }, InJsonl::derived),
    keyed<F>(
        "object_id", "id", [](F& f) -> FieldRef { return &f.columns.object_id; }, InJsonl::derived),
    keyed<F>(
        "parse_ok", "unparsed", [](F& f) -> FieldRef { return ParsedRef{&f.columns.parse_ok}; },
        InJsonl::derived),
    packed<F>("bytes", [](F& f) -> FieldRef { return BytesRef{&f.bytes}; }),
});

using M = ClientMessage;
const auto kClientMessage = std::to_array<Field<M>>({
    same<M>(
        "session_id", [](M& m) -> FieldRef { return &m.session_id; }, InJsonl::no),
    same<M>("seq", [](M& m) -> FieldRef { return &m.seq; }),
    keyed<M>("connection_idx", "conn", [](M& m) -> FieldRef { return &m.connection_idx; }),
    same<M>("offset_ns", [](M& m) -> FieldRef { return &m.offset_ns; }),
    same<M>("wall_ns", [](M& m) -> FieldRef { return &m.wall_ns; }),
    same<M>("after_seq", [](M& m) -> FieldRef { return &m.after_seq; }),
    same<M>("kind", [](M& m) -> FieldRef { return &m.kind; }),
    keyed<M>("bytes", "text", [](M& m) -> FieldRef { return BytesRef{&m.bytes}; }),
});

using G = Gap;
const auto kGap = std::to_array<Field<G>>({
    same<G>(
        "session_id", [](G& g) -> FieldRef { return &g.session_id; }, InJsonl::no),
    same<G>("idx", [](G& g) -> FieldRef { return &g.idx; }),
    keyed<G>("from_connection_idx", "from_conn",
             [](G& g) -> FieldRef { return &g.from_connection_idx; }),
    same<G>("start_offset_ns", [](G& g) -> FieldRef { return &g.start_offset_ns; }),
    same<G>("start_wall_ns", [](G& g) -> FieldRef { return &g.start_wall_ns; }),
    same<G>("end_offset_ns", [](G& g) -> FieldRef { return &g.end_offset_ns; }),
    same<G>("end_wall_ns", [](G& g) -> FieldRef { return &g.end_wall_ns; }),
    same<G>("cause", [](G& g) -> FieldRef { return &g.cause; }),
    same<G>("last_seq_before", [](G& g) -> FieldRef { return &g.last_seq_before; }),
    same<G>("backfill_status", [](G& g) -> FieldRef { return &g.backfill_status; }),
    same<G>("backfill_error", [](G& g) -> FieldRef { return &g.backfill_error; }),
    same<G>("backfilled", [](G& g) -> FieldRef { return &g.backfilled; }),
});

using B = BackfillItem;
const auto kBackfill = std::to_array<Field<B>>({
    same<B>(
        "session_id", [](B& b) -> FieldRef { return &b.session_id; }, InJsonl::no),
    same<B>("seq", [](B& b) -> FieldRef { return &b.seq; }),
    keyed<B>("gap_idx", "gap", [](B& b) -> FieldRef { return &b.gap_idx; }),
    same<B>("offset_ns", [](B& b) -> FieldRef { return &b.offset_ns; }),
    same<B>("wall_ns", [](B& b) -> FieldRef { return &b.wall_ns; }),
    same<B>("endpoint", [](B& b) -> FieldRef { return &b.endpoint; }),
    same<B>("query", [](B& b) -> FieldRef { return &b.query; }),
    same<B>("http_status", [](B& b) -> FieldRef { return &b.http_status; }),
    keyed<B>("object_id", "id", [](B& b) -> FieldRef { return &b.object_id; }),
    same<B>("already_streamed", [](B& b) -> FieldRef { return &b.already_streamed; }),
    packed<B>("body", [](B& b) -> FieldRef { return BytesRef{&b.body}; }),
});

}  // namespace

std::span<const Field<Session>> fields(const Session*) { return kSession; }
std::span<const Field<Connection>> fields(const Connection*) { return kConnection; }
std::span<const Field<Frame>> fields(const Frame*) { return kFrame; }
std::span<const Field<ClientMessage>> fields(const ClientMessage*) { return kClientMessage; }
std::span<const Field<Gap>> fields(const Gap*) { return kGap; }
std::span<const Field<BackfillItem>> fields(const BackfillItem*) { return kBackfill; }

std::string_view table_of(const Session*) { return "sessions"; }
std::string_view table_of(const Connection*) { return "connections"; }
std::string_view table_of(const Frame*) { return "frames"; }
std::string_view table_of(const ClientMessage*) { return "client_messages"; }
std::string_view table_of(const Gap*) { return "gaps"; }
std::string_view table_of(const BackfillItem*) { return "backfill_items"; }

std::string subscriptions_to_json(const std::vector<Subscription>& subs) {
    nlohmann::ordered_json array = nlohmann::ordered_json::array();
    for (const auto& s : subs) {
        nlohmann::ordered_json o;
        o["stream"] = s.stream;
        if (!s.param.empty()) {
            o["param"] = s.param;
        }
        array.push_back(o);
    }
    return array.dump();
}

std::vector<Subscription> subscriptions_from_json(std::string_view text) {
    std::vector<Subscription> out;
    auto array = nlohmann::json::parse(text, nullptr, false);
    if (!array.is_array()) {
        return out;
    }
    for (const auto& o : array) {
        if (o.is_object() && o.contains("stream") && o.at("stream").is_string()) {
            out.push_back({o.at("stream").get<std::string>(), o.value("param", std::string())});
        }
    }
    return out;
}

}  // namespace mastotape::schema
