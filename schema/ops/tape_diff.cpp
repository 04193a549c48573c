#include "schema/ops/tape_diff.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/text/byte_codec.hpp"

namespace mastotape::schema {
namespace {

constexpr std::int64_t kNoConnection = -1;

std::string ms(std::int64_t ns) {
    char out[32];
    std::snprintf(out, sizeof out, "%.3f ms", static_cast<double>(ns) / 1e6);
    return out;
}

bool heartbeat_or_pong(const Frame& f) {
    return is_heartbeat(f.columns.kind, f.bytes) || f.columns.kind == FrameKind::pong;
}

// A session's established connections (those whose handshake finished), in order.
struct Side {
    TapeStore& store;
    std::int64_t id;
    std::vector<Connection> all;
    std::vector<Gap> gaps;
    std::vector<const Connection*> established;
    std::map<std::int64_t, std::int64_t> position;  // connection idx -> index in `established`

    Side(TapeStore& s, std::int64_t session_id)
        : store(s), id(session_id), all(s.connections(id)), gaps(s.gaps(id)) {
        for (const auto& c : all) {
            if (c.handshake_offset_ns) {
                position[c.idx] = static_cast<std::int64_t>(established.size());
                established.push_back(&c);
            }
        }
    }

    std::int64_t position_of(std::int64_t connection_idx) const {
        const auto it = position.find(connection_idx);
        return it == position.end() ? kNoConnection : it->second;
    }

    // Failed attempts before each established connection, and after the last one.
    std::vector<std::vector<std::string>> attempts() const {
        std::vector<std::vector<std::string>> out(1);
        for (const auto& c : all) {
            if (c.handshake_offset_ns) {
                out.emplace_back();
            } else {
                out.back().push_back(
                    std::string(to_string(c.end_cause)) +
                    (c.http_status ? " HTTP " + std::to_string(*c.http_status) : std::string()));
            }
        }
        return out;
    }
};

std::string describe_end(const Connection& c) {
    std::string s = c.end_cause == EndCause::none ? "(open)" : std::string(to_string(c.end_cause));
    if (c.close_code) {
        s += " " + std::to_string(*c.close_code);
    }
    if (!c.close_reason.empty()) {
        s += " \"" + preview(c.close_reason, 40) + "\"";
    }
    return s;
}

std::string describe_frame(const Frame& f) {
    return std::string(to_string(f.columns.kind)) +
           (f.columns.event ? " " + *f.columns.event : std::string()) + " " + preview(f.bytes, 60);
}

// The bytes around the first difference, so a long frame's difference is visible.
std::string around(const std::string& bytes, std::size_t at) {
    const std::size_t from = at > 20 ? at - 20 : 0;
    return (from > 0 ? "…" : "") + preview(std::string_view(bytes).substr(from), 60);
}

// Calls f(key, a's value, b's value) for every key of either map, in order; a missing value is
// the empty one.
template <typename Map, typename F>
void for_each_key(const Map& a, const Map& b, F f) {
    static const typename Map::mapped_type kNone{};
    std::set<typename Map::key_type> keys;
    for (const auto& entry : a) {
        keys.insert(entry.first);
    }
    for (const auto& entry : b) {
        keys.insert(entry.first);
    }
    for (const auto& key : keys) {
        const auto ia = a.find(key);
        const auto ib = b.find(key);
        f(key, ia == a.end() ? kNone : ia->second, ib == b.end() ? kNone : ib->second);
    }
}

class Differ {
   public:
    Differ(Side& a, Side& b, const DiffOptions& o) : a_(a), b_(b), o_(o) {}

    DiffResult run() {
        compare_connections();
        compare_frames();
        if (!ignored("client")) {
            compare_client_messages();
        }
        if (!ignored("gaps")) {
            compare_gaps();
        }
        if (!ignored("backfill")) {
            compare_backfill();
        }
        return std::move(r_);
    }

   private:
    bool ignored(const std::string& aspect) const { return o_.ignore.count(aspect) > 0; }

    void differ(const std::string& aspect, const std::string& line) {
        ++r_.differences;
        ++r_.by_aspect[aspect];
        if (r_.reported.size() < o_.max_reported) {
            r_.reported.push_back(line);
        }
    }

    void compare_connections() {
        const auto na = a_.established.size();
        const auto nb = b_.established.size();
        r_.connections = static_cast<std::int64_t>(std::min(na, nb));
        if (na != nb) {
            differ("connections", "established connections: " + std::to_string(na) + " in A, " +
                                      std::to_string(nb) + " in B");
        }
        if (!ignored("ends")) {
            for (std::size_t i = 0; i < std::min(na, nb); ++i) {
                const auto& ca = *a_.established[i];
                const auto& cb = *b_.established[i];
                if (ca.end_cause != cb.end_cause || ca.close_code != cb.close_code ||
                    ca.close_reason != cb.close_reason) {
                    differ("connections", "connection " + std::to_string(i) + " ended: A " +
                                              describe_end(ca) + ", B " + describe_end(cb));
                }
            }
        }
        if (o_.strict_attempts) {
            const auto aa = a_.attempts();
            const auto ab = b_.attempts();
            for (std::size_t i = 0; i < std::min(aa.size(), ab.size()); ++i) {
                if (aa[i] != ab[i]) {
                    differ("attempts", "failed attempts before established connection " +
                                           std::to_string(i) + ": " + std::to_string(aa[i].size()) +
                                           " in A, " + std::to_string(ab[i].size()) + " in B");
                }
            }
        }
    }

    // Next frame to compare, skipping heartbeats when they are ignored.
    bool next(FrameCursor& c, Frame& f) const {
        while (c.next(f)) {
            if (!ignored("heartbeats") || !heartbeat_or_pong(f)) {
                return true;
            }
        }
        return false;
    }

    void compare_frames() {
        auto ca = a_.store.frames_from_seq(a_.id, 1);
        auto cb = b_.store.frames_from_seq(b_.id, 1);
        Frame fa;
        Frame fb;
        bool ha = next(ca, fa);
        bool hb = next(cb, fb);
        while (ha || hb) {
            if (!hb) {
                differ("frames",
                       "A#" + std::to_string(fa.seq) + " is missing from B: " + describe_frame(fa));
            } else if (!ha) {
                differ("frames",
                       "B#" + std::to_string(fb.seq) + " is not in A: " + describe_frame(fb));
            } else {
                ++r_.frames;
                compare_frame(fa, fb);
            }
            if (ha) {
                ha = next(ca, fa);
            }
            if (hb) {
                hb = next(cb, fb);
            }
        }
    }

    void compare_frame(const Frame& fa, const Frame& fb) {
        const std::string which = "A#" + std::to_string(fa.seq) + "/B#" + std::to_string(fb.seq);
        const bool same = fa.columns.kind == fb.columns.kind && fa.bytes == fb.bytes;
        if (fa.columns.kind != fb.columns.kind) {
            differ("frames", which + ": a " + std::string(to_string(fa.columns.kind)) +
                                 " frame in A, a " + std::string(to_string(fb.columns.kind)) +
                                 " frame in B");
        } else if (fa.bytes != fb.bytes) {
            const auto at = static_cast<std::size_t>(
                std::mismatch(fa.bytes.begin(),
                              fa.bytes.begin() + static_cast<std::ptrdiff_t>(
                                                     std::min(fa.bytes.size(), fb.bytes.size())),
                              fb.bytes.begin())
                    .first -
                fa.bytes.begin());
            differ("frames", which + ": bytes differ at byte " + std::to_string(at) + " (" +
                                 std::to_string(fa.bytes.size()) + " and " +
                                 std::to_string(fb.bytes.size()) + " bytes): A " +
                                 around(fa.bytes, at) + " | B " + around(fb.bytes, at));
        }
        const auto pa = a_.position_of(fa.connection_idx);
        const auto pb = b_.position_of(fb.connection_idx);
        if (pa != pb) {
            differ("connections", which + ": on established connection " + std::to_string(pa) +
                                      " in A, " + std::to_string(pb) + " in B");
            return;
        }
        if (!same || ignored("timing") || pa == kNoConnection) {
            // Different frames: their times say nothing more.
            return;
        }
        const auto idx = static_cast<std::size_t>(pa);
        const double rel_a =
            static_cast<double>(fa.offset_ns - *a_.established[idx]->handshake_offset_ns);
        const auto rel_b = fb.offset_ns - *b_.established[idx]->handshake_offset_ns;
        const auto off = rel_b - static_cast<std::int64_t>(std::llround(rel_a / o_.time_scale));
        r_.worst_lateness_ns = std::max(r_.worst_lateness_ns, std::abs(off));
        if (std::abs(off) > o_.tolerance_ns) {
            differ("timing", which + ": " + ms(std::abs(off)) + (off > 0 ? " later" : " earlier") +
                                 " than A after its connection's handshake (tolerance " +
                                 ms(o_.tolerance_ns) + ")");
        }
    }

    void compare_client_messages() {
        // Per established connection, what the client sent, in order.
        auto by_connection = [this](Side& s) {
            std::map<std::int64_t, std::vector<ClientMessage>> out;
            for (auto& m : s.store.client_messages(s.id)) {
                if (ignored("heartbeats") &&
                    (m.kind == MessageKind::ping || m.kind == MessageKind::pong)) {
                    continue;
                }
                out[s.position_of(m.connection_idx)].push_back(std::move(m));
            }
            return out;
        };
        for_each_key(by_connection(a_), by_connection(b_),
                     [this](std::int64_t p, const auto& la, const auto& lb) {
                         const std::string where =
                             "client messages on connection " + std::to_string(p);
                         if (la.size() != lb.size()) {
                             differ("client", where + ": " + std::to_string(la.size()) + " in A, " +
                                                  std::to_string(lb.size()) + " in B");
                             return;
                         }
                         for (std::size_t i = 0; i < la.size(); ++i) {
                             if (la[i].kind != lb[i].kind || la[i].bytes != lb[i].bytes) {
                                 differ("client", where + ", message " + std::to_string(i) +
                                                      ": A " + std::string(to_string(la[i].kind)) +
                                                      " " + preview(la[i].bytes, 50) + " | B " +
                                                      std::string(to_string(lb[i].kind)) + " " +
                                                      preview(lb[i].bytes, 50));
                             }
                         }
                     });
    }

    void compare_gaps() {
        const auto& ga = a_.gaps;
        const auto& gb = b_.gaps;
        r_.gaps = static_cast<std::int64_t>(std::min(ga.size(), gb.size()));
        if (ga.size() != gb.size()) {
            differ("gaps", "gaps: " + std::to_string(ga.size()) + " in A, " +
                               std::to_string(gb.size()) + " in B");
        }
        for (std::size_t i = 0; i < std::min(ga.size(), gb.size()); ++i) {
            // A gap's cause is how its connection ended: `ends` leaves it out with the end.
            if (!ignored("ends") && ga[i].cause != gb[i].cause) {
                differ("gaps", "gap " + std::to_string(i) + " cause: A " +
                                   std::string(to_string(ga[i].cause)) + ", B " +
                                   std::string(to_string(gb[i].cause)));
            }
            if (a_.position_of(ga[i].from_connection_idx) !=
                b_.position_of(gb[i].from_connection_idx)) {
                differ("gaps", "gap " + std::to_string(i) +
                                   " follows a different established connection in A and B");
            }
        }
    }

    // Per gap, the items only the backfill delivered, with their bytes. An item the stream also
    // delivered (before the fetch, or after it: the two race on a real server too) is left out.
    static std::map<std::int64_t, std::map<std::string, std::string>> missed_items(Side& s) {
        std::map<std::int64_t, std::map<std::string, std::string>> out;
        for (auto& item : s.store.backfill(s.id)) {
            if (!item.already_streamed && !s.store.streamed(s.id, item.object_id)) {
                out[item.gap_idx].emplace(item.object_id, std::move(item.body));
            }
        }
        return out;
    }

    void compare_backfill() {
        const auto& ga = a_.gaps;
        const auto& gb = b_.gaps;
        for (std::size_t i = 0; i < std::min(ga.size(), gb.size()); ++i) {
            if (ga[i].backfill_status != gb[i].backfill_status) {
                differ("backfill", "gap " + std::to_string(i) + " backfill: A " +
                                       std::string(to_string(ga[i].backfill_status)) + ", B " +
                                       std::string(to_string(gb[i].backfill_status)) +
                                       (gb[i].backfill_error.empty()
                                            ? std::string()
                                            : " (" + preview(gb[i].backfill_error, 80) + ")"));
            }
        }
        for_each_key(missed_items(a_), missed_items(b_),
                     [this](std::int64_t g, const auto& la, const auto& lb) {
                         compare_gap_items(g, la, lb);
                     });
    }

    void compare_gap_items(std::int64_t g, const std::map<std::string, std::string>& la,
                           const std::map<std::string, std::string>& lb) {
        std::vector<std::string> only_a;
        std::vector<std::string> only_b;
        for (const auto& [id, body] : la) {
            const auto other = lb.find(id);
            if (other == lb.end()) {
                only_a.push_back(id);
            } else if (other->second != body) {
                differ("backfill",
                       "gap " + std::to_string(g) + " backfilled item " + id + ": bytes differ");
            } else {
                ++r_.backfilled;
            }
        }
        for (const auto& [id, _] : lb) {
            if (la.count(id) == 0) {
                only_b.push_back(id);
            }
        }
        auto list = [](const std::vector<std::string>& ids) {
            std::string s;
            for (std::size_t i = 0; i < ids.size() && i < 3; ++i) {
                s += (i ? ", " : "") + ids[i];
            }
            return s + (ids.size() > 3 ? ", …" : "");
        };
        if (!only_a.empty()) {
            differ("backfill", "gap " + std::to_string(g) + ": " + std::to_string(only_a.size()) +
                                   " backfilled items only in A (" + list(only_a) + ")");
        }
        if (!only_b.empty()) {
            differ("backfill", "gap " + std::to_string(g) + ": " + std::to_string(only_b.size()) +
                                   " backfilled items only in B (" + list(only_b) + ")");
        }
    }

    Side& a_;
    Side& b_;
    const DiffOptions& o_;
    DiffResult r_;
};

}  // namespace

std::string DiffResult::summary(const DiffOptions& o) const {
    std::string s =
        equal() ? "equal: " : "different: " + std::to_string(differences) + " differences (";
    if (!equal()) {
        bool first = true;
        for (const auto& [aspect, n] : by_aspect) {
            s += (first ? "" : ", ") + aspect + " " + std::to_string(n);
            first = false;
        }
        s += ") in ";
    }
    s += std::to_string(connections) + " connections, " + std::to_string(frames) + " frames, " +
         std::to_string(gaps) + " gaps, " + std::to_string(backfilled) + " backfilled items";
    if (o.ignore.count("timing") == 0) {
        s += "; frame times within " + ms(worst_lateness_ns) + " of A";
        if (o.time_scale != 1.0) {
            char scale[32];
            std::snprintf(scale, sizeof scale, "%g", o.time_scale);
            s += std::string(" scaled by 1/") + scale;
        }
        s += " (tolerance " + ms(o.tolerance_ns) + ")";
    }
    if (!o.ignore.empty()) {
        s += "; ignoring";
        for (const auto& aspect : o.ignore) {
            s += " " + aspect;
        }
    }
    return s;
}

DiffResult diff_sessions(TapeStore& a, std::int64_t a_id, TapeStore& b, std::int64_t b_id,
                         const DiffOptions& options) {
    Side sa(a, a_id);
    Side sb(b, b_id);
    return Differ(sa, sb, options).run();
}

}  // namespace mastotape::schema
