#include "schema/ops/tape_redact.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <random>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/mastodon/frame_classifier.hpp"
#include "schema/mastodon/url.hpp"
#include "schema/tape/timeline.hpp"
#include "schema/text/json_text.hpp"

namespace mastotape::schema {
namespace {

// Recorded response headers (a JSON object) with their hosts mapped and each X-Request-Id (which
// the server's logs tie to the user) replaced by a UUID of the seed and the original.
std::string redacted_headers(Redactor& r, std::string_view json) {
    std::string out = r.hosts_in(json);
    static const std::string kName = "\"x-request-id\":\"";
    std::string folded = out;
    std::transform(folded.begin(), folded.end(), folded.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // `folded` (for a case-blind search) gets each replacement too, so the two stay in step.
    for (std::size_t at = folded.find(kName); at != std::string::npos;
         at = folded.find(kName, at + kName.size())) {
        const std::size_t from = at + kName.size();
        const std::size_t to = out.find('"', from);
        if (to == std::string::npos) {
            break;
        }
        std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: the same on every machine
        for (std::size_t i = from; i < to; ++i) {
            h = (h ^ static_cast<unsigned char>(out[i])) * 1099511628211ULL;
        }
        std::mt19937_64 rng(r.options().seed ^ h);
        const std::uint64_t high = rng();
        const std::string made = format_uuid_v4(high, rng());
        out.replace(from, to - from, made);
        folded.replace(from, to - from, made);
        r.count("X-Request-Id");
    }
    return out;
}

// The host of an absolute URL, without its port; "" for anything else.
std::string host_of(const std::string& url) {
    const auto p = split_url(url);
    return p ? std::string(p->host) : "";
}

class TapeRedactor {
   public:
    TapeRedactor(TapeStore& store, std::int64_t id, Redactor::Options o)
        : store_(store),
          id_(id),
          session_(store.session(id)),
          r_(with_home(std::move(o))),
          sse_label_(sse_label(session_)) {}

    RedactSummary run(std::ostream* out, const std::function<void(std::int64_t)>& progress) {
        // The ids first, for their offsets.
        walk_timeline(store_, id_, [&](const TimelineEntry& e) {
            if (const auto* f = std::get_if<Frame>(&e.record);
                f && f->columns.kind == FrameKind::event) {
                if (auto payload = event_payload(session_.transport, f->bytes)) {
                    r_.observe(*payload);
                }
            } else if (const auto* b = std::get_if<BackfillItem>(&e.record)) {
                r_.observe(b->body);
                r_.observe(b->object_id);
            }
            return true;
        });
        r_.freeze();
        Session s = session_;
        s.source = mapped_url(s.source);
        s.instance = mapped_url(s.instance);
        s.label = r_.hosts_in(s.label);
        s.settings_json = r_.hosts_in(s.settings_json);
        const std::string header = header_jsonl(s);
        if (out) {
            *out << header << '\n';
        }
        walk_timeline(store_, id_, [&](const TimelineEntry& e) {
            const std::string line = redacted(e);
            if (out && !line.empty()) {
                *out << line << '\n';
            }
            if (e.kind == TimelineKind::frame && progress && summary_.frames % 65536 == 0) {
                progress(summary_.frames);
            }
            return !out || static_cast<bool>(*out);
        });
        if (out && !*out) {
            throw TapeError("redact of session " + std::to_string(id_) +
                            " failed: write error (disk full?)");
        }
        summary_.counts = r_.counts();
        summary_.accounts = r_.accounts();
        summary_.hosts = r_.hosts();
        return summary_;
    }

   private:
    Redactor::Options with_home(Redactor::Options o) const {
        o.home_host = host_of(session_.instance.find("://") != std::string::npos ? session_.instance
                                                                                 : session_.source);
        if (o.home_host.empty()) {
            o.home_host = session_.instance;
        }
        return o;
    }

    // A URL (or a host) with its host mapped and the rest kept: the streaming URL's query.
    std::string mapped_url(const std::string& u) {
        const std::string h = u.find("://") != std::string::npos ? host_of(u) : u;
        if (!h.empty()) {
            r_.host(h);
        }
        return r_.hosts_in(u);
    }

    std::string redacted(const TimelineEntry& e) {
        switch (e.kind) {
            case TimelineKind::connection_opened: {
                Connection c = e.as<Connection>();
                c.url = mapped_url(c.url);
                c.response_headers_json = redacted_headers(r_, c.response_headers_json);
                c.error_message = r_.hosts_in(c.error_message);
                return to_jsonl(c);
            }
            case TimelineKind::frame:
                return to_jsonl(frame(e.as<Frame>()));
            case TimelineKind::backfill:
                return to_jsonl(backfill(e.as<BackfillItem>()));
            case TimelineKind::connection_ended:
            case TimelineKind::gap_ended:
                return "";
            default:
                return to_jsonl(e.record);
        }
    }

    Frame frame(const Frame& original) {
        ++summary_.frames;
        Frame f = original;
        if (f.columns.kind != FrameKind::event) {
            return f;
        }
        const auto payload = event_payload(session_.transport, f.bytes);
        const auto redacted = payload ? r_.redact(*payload) : std::nullopt;
        if (!redacted) {
            // Kept as long as it was, with nothing of it left.
            f.bytes = std::string(f.bytes.size(), 'x');
            ++summary_.unparsable;
        } else if (session_.transport == Transport::sse) {
            const auto fields = parse_sse_block(f.bytes);
            f.bytes = sse_block(fields.event, *redacted);
        } else {
            auto envelope = nlohmann::ordered_json::parse(f.bytes);
            envelope["payload"] = *redacted;
            f.bytes =
                envelope.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        }
        f.columns = expected_columns(session_.transport, f.columns.kind, f.bytes, sse_label_);
        if (!f.columns.parse_ok) {
            f.columns.kind = FrameKind::text;
            f.columns = expected_columns(session_.transport, FrameKind::text, f.bytes, sse_label_);
        }
        return f;
    }

    BackfillItem backfill(const BackfillItem& original) {
        BackfillItem b = original;
        b.body = r_.redact(b.body).value_or(std::string(b.body.size(), 'x'));
        b.object_id = r_.redact(b.object_id).value_or(b.object_id);
        // The query's ids (min_id, max_id, since_id) as the items' ids are.
        std::string query;
        std::size_t start = 0;
        while (start <= b.query.size()) {
            const auto amp = b.query.find('&', start);
            std::string pair = b.query.substr(start, amp == std::string::npos ? amp : amp - start);
            const auto eq = pair.find('=');
            if (eq != std::string::npos) {
                const std::string value = pair.substr(eq + 1);
                if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
                    pair = pair.substr(0, eq + 1) + r_.id(value);
                }
            }
            query += (query.empty() ? "" : "&") + pair;
            if (amp == std::string::npos) {
                break;
            }
            start = amp + 1;
        }
        b.query = query;
        return b;
    }

    TapeStore& store_;
    std::int64_t id_;
    Session session_;
    Redactor r_;
    std::string sse_label_;
    RedactSummary summary_;
};

}  // namespace

RedactSummary redact_session(TapeStore& store, std::int64_t session_id, Redactor::Options options,
                             std::ostream* out, const std::function<void(std::int64_t)>& progress) {
    return TapeRedactor(store, session_id, std::move(options)).run(out, progress);
}

}  // namespace mastotape::schema
