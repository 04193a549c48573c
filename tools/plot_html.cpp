#include "tools/plot_html.hpp"

#include <nlohmann/json.hpp>

#include "schema/text/byte_codec.hpp"
#include "schema/text/xml_text.hpp"
#include "tools/cli_common.hpp"
#include "tools/plot_svg.hpp"

namespace mastotape::assets {
extern const std::string_view kPlotPage;  // tools/assets/plot.html
}  // namespace mastotape::assets

namespace mastotape::tools {
namespace {

using nlohmann::json;

json optional_ns(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

json connection_json(const schema::Connection& c) {
    json headers = json::parse(c.response_headers_json, nullptr, false);
    if (headers.is_discarded()) {
        headers = c.response_headers_json;
    }
    std::string end(schema::to_string(c.end_cause));
    if (c.close_code) {
        end += " " + std::to_string(*c.close_code);
    }
    if (!c.close_reason.empty()) {
        end += " \"" + c.close_reason + "\"";
    }
    if (!c.end_detail.empty()) {
        end += " (" + c.end_detail + ")";
    }
    return {{"idx", c.idx},
            {"url", c.url},
            {"started_ns", c.started_offset_ns},
            {"handshake_ns", optional_ns(c.handshake_offset_ns)},
            {"http_status", optional_ns(c.http_status)},
            {"error_message", c.error_message},
            {"subprotocol", c.subprotocol},
            {"response_headers", headers},
            {"ended_ns", optional_ns(c.ended_offset_ns)},
            {"end", c.end_cause == schema::EndCause::none ? "open" : end}};
}

json gap_json(const schema::PlotData& d, const schema::Gap& g) {
    json items = json::array();
    for (const schema::BackfillItem& b : d.backfill) {
        if (b.gap_idx == g.idx) {
            items.push_back({{"seq", b.seq},
                             {"id", b.object_id},
                             {"endpoint", b.endpoint},
                             {"query", b.query},
                             {"http_status", b.http_status},
                             {"already_streamed", b.already_streamed}});
        }
    }
    const std::int64_t end = g.end_offset_ns.value_or(d.length_ns);
    return {{"idx", g.idx},
            {"label", std::string(schema::to_string(g.cause)) + ", " +
                          format_duration(end - g.start_offset_ns) +
                          (g.end_offset_ns ? "" : " (still open at the end)")},
            {"start_ns", g.start_offset_ns},
            {"end_ns", optional_ns(g.end_offset_ns)},
            {"backfill_status", schema::to_string(g.backfill_status)},
            {"backfill_error", g.backfill_error},
            {"backfilled", g.backfilled},
            {"items", std::move(items)}};
}

json frame_json(const schema::PlotFrame& f) {
    const bool utf8 = schema::is_valid_utf8(f.bytes);
    return {{"seq", f.seq},
            {"offset_ns", f.offset_ns},
            {"connection", f.connection_idx},
            {"kind", schema::to_string(f.kind)},
            {"event", f.event},
            {"id", f.object_id},
            {"text", utf8 ? f.bytes : schema::printable(f.bytes)},
            {"binary", !utf8}};
}

json plot_json(const schema::PlotData& d) {
    json j = {{"length_ns", d.length_ns}, {"bin_ns", d.bin_ns}, {"event_names", d.event_names}};
    json& connections = j["connections"] = json::array();
    for (const auto& c : d.connections) {
        connections.push_back(connection_json(c));
    }
    json& gaps = j["gaps"] = json::array();
    for (const auto& g : d.gaps) {
        gaps.push_back(gap_json(d, g));
    }
    json& frames = j["frames"] = json::array();
    std::map<std::int64_t, std::size_t> frame_index;  // seq -> index
    for (const auto& f : d.frames) {
        frame_index[f.seq] = frames.size();
        frames.push_back(frame_json(f));
    }
    json& bins = j["bins"] = json::array();
    for (const auto& b : d.bins) {
        json by_event = json::object();
        for (std::size_t e = 0; e < b.by_event.size(); ++e) {
            if (b.by_event[e] > 0) {
                by_event[d.event_names[e]] = b.by_event[e];
            }
        }
        const auto sample = frame_index.find(b.sample_seq);
        bins.push_back({{"t0", b.index * d.bin_ns},
                        {"total", b.total},
                        {"by_event", std::move(by_event)},
                        {"sample", sample == frame_index.end() ? json(-1) : json(sample->second)}});
    }
    return j;
}

// JSON inside a <script> element: no `<` at all, so nothing in it can close the element.
std::string script_safe(const std::string& json_text) {
    std::string out;
    out.reserve(json_text.size());
    for (const char c : json_text) {
        if (c == '<') {
            out += "\\u003c";
        } else {
            out += c;
        }
    }
    return out;
}

void replace_marker(std::string& page, std::string_view marker, const std::string& with) {
    const auto at = page.find(marker);
    if (at == std::string::npos) {
        throw std::logic_error("plot page without " + std::string(marker));
    }
    page.replace(at, marker.size(), with);
}

}  // namespace

std::string render_plot_html(const schema::PlotData& d) {
    std::string page(assets::kPlotPage);
    const std::string title = "session " + std::to_string(d.session.id) +
                              (d.session.label.empty() ? "" : " (" + d.session.label + ")");
    replace_marker(page, "<!--mastotape:title-->",
                   schema::xml_escaped(schema::printable(title, 200)));
    // The data first: the SVG could hold the marker's text (a label, a frame's bytes).
    replace_marker(page, "/*mastotape:data*/",
                   script_safe(plot_json(d).dump(-1, ' ', false, json::error_handler_t::replace)));
    replace_marker(page, "<!--mastotape:svg-->", render_plot_svg(d));
    return page;
}

}  // namespace mastotape::tools
