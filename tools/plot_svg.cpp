#include "tools/plot_svg.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>

#include "schema/mastodon/iso_time.hpp"
#include "schema/text/byte_codec.hpp"
#include "schema/text/xml_text.hpp"
#include "tools/cli_common.hpp"

namespace mastotape::tools {
namespace {

using schema::PlotData;

// The layout, in viewBox units (px at 1200 wide).
constexpr double kWidth = 1200;
constexpr double kLeft = 110;
constexpr double kRight = 30;
constexpr double kGapLabelTop = 58;
constexpr double kConnTop = 104;
constexpr double kConnHeight = 20;
constexpr double kRateTop = 140;
constexpr double kRateHeight = 200;
constexpr double kLaneHeight = 16;
constexpr double kLaneStep = 26;
constexpr std::size_t kMaxTicks = 5000;  // a lane's marks drawn one by one

// Tableau 10: an event type's colour by its rank.
constexpr std::array<const char*, 10> kPalette = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                                  "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                                  "#9c755f", "#bab0ac"};
constexpr const char* kGapFill = "#e76f51";
constexpr const char* kConnFill = "#8ab17d";
constexpr const char* kFailed = "#c1121f";
constexpr const char* kInk = "#222";
constexpr const char* kMuted = "#666";

std::string num(double v) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f", v);
    std::string s = out;
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) {
        s.resize(s.size() - 2);
    }
    return s;
}

// Text for an SVG text node or attribute: printable (no control bytes, valid UTF-8), escaped.
std::string xml(std::string_view raw, std::size_t max_chars = 200) {
    return schema::xml_escaped(schema::preview(raw, max_chars));
}

std::string ns_attr(const char* name, std::int64_t ns) {
    return std::string(" ") + name + "=\"" + std::to_string(ns) + "\"";
}

const char* event_colour(std::size_t rank) { return kPalette[rank % kPalette.size()]; }

std::string event_label(const std::string& event) { return event.empty() ? "(no event)" : event; }

// How a connection ended, shortly: "close 1000 bye", "eof", "open".
std::string end_label(const schema::Connection& c) {
    if (c.end_cause == schema::EndCause::none) {
        return "open";
    }
    std::string s(schema::to_string(c.end_cause));
    if (c.close_code) {
        s += " " + std::to_string(*c.close_code);
    }
    if (!c.close_reason.empty()) {
        s += " " + c.close_reason;
    }
    return s;
}

bool attempt_failed(const schema::Connection& c) { return !c.handshake_offset_ns.has_value(); }

class SvgPlot {
   public:
    explicit SvgPlot(const PlotData& d) : d_(d) {
        span_ = std::max<std::int64_t>(d.length_ns, 1);
        lanes_bottom_ = kRateTop + kRateHeight + 12 + kLaneStep * (d.single_frames ? 3 : 2);
    }

    std::string render() {
        const double height = lanes_bottom_ + 80 + 18 * legend_rows();
        out_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(kWidth) + " " +
                num(height) + "\" font-family=\"sans-serif\" font-size=\"12\" fill=\"" + kInk +
                "\">\n";
        out_ += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
        header();
        out_ += "<defs><clipPath id=\"plot-clip\"><rect x=\"" + num(kLeft) + "\" y=\"0\" width=\"" +
                num(plot_width()) + "\" height=\"" + num(height) + "\"/></clipPath></defs>\n";
        lane_labels();
        rate_axis();
        out_ += "<g id=\"plot-area\" clip-path=\"url(#plot-clip)\">\n";
        gaps();
        connections();
        rate();
        heartbeats();
        client_messages();
        if (d_.single_frames) {
            frames();
        }
        out_ += "</g>\n";
        time_axis();
        legend();
        out_ += "</svg>\n";
        return std::move(out_);
    }

   private:
    double plot_width() const { return kWidth - kLeft - kRight; }
    double x(std::int64_t ns) const {
        return kLeft + plot_width() * static_cast<double>(ns) / static_cast<double>(span_);
    }
    double lane_top(int lane) const { return kRateTop + kRateHeight + 12 + kLaneStep * lane; }

    void header() {
        const schema::Session& s = d_.session;
        std::string title = "Session " + std::to_string(s.id);
        if (!s.label.empty()) {
            title += " · " + s.label;
        }
        title += " · " + s.source + " · " + std::string(schema::to_string(s.transport));
        out_ += "<text x=\"12\" y=\"22\" font-size=\"16\" font-weight=\"bold\">" + xml(title) +
                "</text>\n";
        std::string line = schema::format_iso_ms(s.started_wall_ns) + " · " +
                           format_duration(d_.length_ns) + " · " +
                           std::to_string(d_.counts.events) + " events · " +
                           std::to_string(d_.counts.connections) + " connections · " +
                           std::to_string(d_.counts.gaps) + " gaps · " +
                           std::to_string(d_.counts.backfilled) + " backfilled";
        if (!d_.single_frames) {
            line += " · binned by " + format_duration(d_.bin_ns);
        }
        out_ += "<text x=\"12\" y=\"40\" fill=\"" + std::string(kMuted) + "\">" + xml(line) +
                "</text>\n";
    }

    void lane_label(double y, const char* text, double indent = 8) {
        out_ += "<text x=\"" + num(kLeft - indent) + "\" y=\"" + num(y) +
                "\" text-anchor=\"end\" fill=\"" + kMuted + "\">" + text + "</text>\n";
    }

    void lane_labels() {
        lane_label(kConnTop + 14, "connections");
        lane_label(kRateTop + kRateHeight / 2, "events/s", 40);
        lane_label(lane_top(0) + 12, "heartbeats");
        lane_label(lane_top(1) + 12, "client sent");
        if (d_.single_frames) {
            lane_label(lane_top(2) + 12, "frames");
        }
    }

    // Failed attempts between a gap's start and end.
    std::int64_t failed_attempts(const schema::Gap& g) const {
        const std::int64_t end = g.end_offset_ns.value_or(d_.length_ns);
        return std::count_if(d_.connections.begin(), d_.connections.end(), [&](const auto& c) {
            return attempt_failed(c) && c.started_offset_ns >= g.start_offset_ns &&
                   c.started_offset_ns <= end;
        });
    }

    std::string gap_label(const schema::Gap& g) const {
        const std::int64_t end = g.end_offset_ns.value_or(d_.length_ns);
        std::string s = std::string(schema::to_string(g.cause)) + " · " +
                        format_duration(end - g.start_offset_ns);
        if (!g.end_offset_ns) {
            s += " (open)";
        }
        if (const std::int64_t failed = failed_attempts(g); failed > 0) {
            s += " · " + std::to_string(failed) + " failed";
        }
        s += " · " + std::to_string(g.backfilled) + " backfilled";
        if (g.backfill_status != schema::BackfillStatus::ok &&
            g.backfill_status != schema::BackfillStatus::none) {
            s += " (" + std::string(schema::to_string(g.backfill_status)) + ")";
        }
        return s;
    }

    void gaps() {
        const double bottom = lane_top(d_.single_frames ? 3 : 2);
        for (std::size_t i = 0; i < d_.gaps.size(); ++i) {
            const schema::Gap& g = d_.gaps[i];
            const std::int64_t end = g.end_offset_ns.value_or(d_.length_ns);
            const std::string label = gap_label(g);
            const double row = static_cast<double>(i % 3);
            out_ += "<g class=\"gap\" data-gap=\"" + std::to_string(i) + "\"" +
                    ns_attr("data-t0", g.start_offset_ns) + ns_attr("data-t1", end) +
                    "><title>gap " + std::to_string(g.idx) + ": " + xml(label) + "</title>";
            out_ += "<rect x=\"" + num(x(g.start_offset_ns)) + "\" y=\"" + num(kGapLabelTop - 10) +
                    "\" width=\"" + num(std::max(x(end) - x(g.start_offset_ns), 1.5)) +
                    "\" height=\"" + num(bottom - kGapLabelTop + 10) + "\" fill=\"" + kGapFill +
                    "\" fill-opacity=\"0.22\"/>";
            // Left-aligned at the gap's start, or right-aligned at its end where it would run
            // off the plot (about 6.5 units a character).
            const bool flip =
                x(g.start_offset_ns) + static_cast<double>(label.size()) * 6.5 > kWidth - kRight;
            out_ += "<text class=\"gap-label\" x=\"" +
                    num(flip ? x(end) - 3 : x(g.start_offset_ns) + 3) + "\" y=\"" +
                    num(kGapLabelTop + 4 + 14 * row) + "\"" + (flip ? " text-anchor=\"end\"" : "") +
                    " fill=\"#9b2226\">" + xml(label) + "</text></g>\n";
        }
    }

    void connections() {
        for (std::size_t i = 0; i < d_.connections.size(); ++i) {
            const schema::Connection& c = d_.connections[i];
            const std::string attrs = " data-conn=\"" + std::to_string(i) + "\"";
            if (attempt_failed(c)) {
                const std::string what =
                    "attempt " + std::to_string(c.idx) + " failed: " + end_label(c) +
                    (c.http_status ? " (HTTP " + std::to_string(*c.http_status) + ")" : "");
                out_ += "<rect class=\"attempt\"" + attrs + ns_attr("data-t", c.started_offset_ns) +
                        " x=\"" + num(x(c.started_offset_ns) - 1.5) + "\" y=\"" + num(kConnTop) +
                        "\" width=\"3\" height=\"" + num(kConnHeight) + "\" fill=\"" + kFailed +
                        "\"><title>" + xml(what) + "</title></rect>\n";
                continue;
            }
            const std::int64_t end = c.ended_offset_ns.value_or(d_.length_ns);
            const double x0 = x(c.started_offset_ns);
            const double width = std::max(x(end) - x0, 1.0);
            const std::string label = end_label(c);
            out_ += "<g class=\"conn\"" + attrs + ns_attr("data-t0", c.started_offset_ns) +
                    ns_attr("data-t1", end) + "><title>connection " + std::to_string(c.idx) +
                    " · " + format_duration(end - c.started_offset_ns) + " · ended: " + xml(label) +
                    "</title>";
            out_ += "<rect x=\"" + num(x0) + "\" y=\"" + num(kConnTop) + "\" width=\"" +
                    num(width) + "\" height=\"" + num(kConnHeight) + "\" fill=\"" + kConnFill +
                    "\" stroke=\"#4f772d\"/>";
            // Shown where it fits (about 6.5 units a character at this size).
            const bool fits = static_cast<double>(label.size()) * 6.5 + 8 < width;
            out_ += "<text class=\"end-label\" x=\"" + num(x0 + width - 4) + "\" y=\"" +
                    num(kConnTop + 14) + "\" text-anchor=\"end\"" +
                    (fits ? "" : " visibility=\"hidden\"") + ">" + xml(label, 60) + "</text></g>\n";
        }
    }

    double peak_rate() const {
        std::int64_t peak = 0;
        for (const auto& b : d_.bins) {
            peak = std::max(peak, b.total);
        }
        return static_cast<double>(peak) * 1e9 / static_cast<double>(d_.bin_ns);
    }

    // The rate axis' step: 1, 2 or 5 times a power of ten, so that at most five steps reach the
    // peak; its top is the first step at or above the peak.
    double rate_step() const {
        if (peak_rate() <= 0) {
            return 1;  // no events: an axis from 0 to 1
        }
        const double peak = peak_rate();
        const double power = std::pow(10.0, std::floor(std::log10(peak / 5)));
        for (const double m : {1.0, 2.0, 5.0}) {
            if (peak / (m * power) <= 5) {
                return m * power;
            }
        }
        return 10 * power;
    }
    double rate_ceiling() const {
        const double step = rate_step();
        return std::max(1.0, std::ceil(peak_rate() / step - 1e-9)) * step;
    }

    void rate_axis() {
        const double step = rate_step();
        const double top = rate_ceiling();
        const auto ticks = static_cast<int>(std::floor((top + step / 2) / step));
        for (int i = 0; i <= ticks; ++i) {
            const double v = i * step;
            const double y = kRateTop + kRateHeight * (1 - v / top);
            out_ += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) + "\" y1=\"" +
                    num(y) + "\" y2=\"" + num(y) + "\" stroke=\"#e5e5e5\"/>";
            char label[32];
            std::snprintf(label, sizeof label, "%g", v);
            out_ += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(y + 4) +
                    "\" text-anchor=\"end\" fill=\"" + kMuted + "\" font-size=\"10\">" + label +
                    "</text>\n";
        }
    }

    void rate() {
        const double scale = kRateHeight / rate_ceiling() * 1e9 / static_cast<double>(d_.bin_ns);
        for (std::size_t i = 0; i < d_.bins.size(); ++i) {
            const schema::RateBin& b = d_.bins[i];
            const std::int64_t t0 = b.index * d_.bin_ns;
            const double x0 = x(t0);
            const double width = std::max(x(t0 + d_.bin_ns) - x0 - 0.3, 0.6);
            std::string title = "+" + format_duration(t0) + " to +" +
                                format_duration(t0 + d_.bin_ns) + ": " + std::to_string(b.total) +
                                " events";
            for (std::size_t e = 0; e < b.by_event.size(); ++e) {
                if (b.by_event[e] > 0) {
                    title +=
                        ", " + event_label(d_.event_names[e]) + " " + std::to_string(b.by_event[e]);
                }
            }
            out_ += "<g class=\"bin\" data-bin=\"" + std::to_string(i) + "\"" +
                    ns_attr("data-t0", t0) + ns_attr("data-t1", t0 + d_.bin_ns) + "><title>" +
                    xml(title, 400) + "</title>";
            double y = kRateTop + kRateHeight;
            for (std::size_t e = 0; e < b.by_event.size(); ++e) {
                if (b.by_event[e] == 0) {
                    continue;
                }
                const double h = static_cast<double>(b.by_event[e]) * scale;
                y -= h;
                out_ += "<rect x=\"" + num(x0) + "\" y=\"" + num(y) + "\" width=\"" + num(width) +
                        "\" height=\"" + num(std::max(h, 0.5)) + "\" fill=\"" + event_colour(e) +
                        "\"/>";
            }
            out_ += "</g>\n";
        }
    }

    void tick(double top, std::int64_t t, const char* colour, const std::string& attrs,
              const std::string& title) {
        out_ += "<line" + attrs + ns_attr("data-t", t) + " x1=\"" + num(x(t)) + "\" x2=\"" +
                num(x(t)) + "\" y1=\"" + num(top) + "\" y2=\"" + num(top + kLaneHeight) +
                "\" stroke=\"" + colour + "\" stroke-width=\"1.5\">";
        out_ += title.empty() ? "</line>\n" : "<title>" + title + "</title></line>\n";
    }

    // Marks in a lane at `times` (in order), with the tooltip `title(i)`; past kMaxTicks of them,
    // one mark a bin instead, saying how many it holds.
    void lane_marks(int lane, const std::vector<std::int64_t>& times, const char* cls,
                    const char* colour, const std::function<std::string(std::size_t)>& title,
                    const char* plural) {
        const double top = lane_top(lane);
        if (times.size() <= kMaxTicks) {
            for (std::size_t i = 0; i < times.size(); ++i) {
                tick(top, times[i], colour, std::string(" class=\"") + cls + "\"", title(i));
            }
            return;
        }
        std::size_t i = 0;
        while (i < times.size()) {
            const std::int64_t bin = times[i] / d_.bin_ns;
            std::size_t n = 0;
            for (; i < times.size() && times[i] / d_.bin_ns == bin; ++i) {
                ++n;
            }
            out_ +=
                std::string("<rect class=\"") + cls + "\"" + ns_attr("data-t0", bin * d_.bin_ns) +
                ns_attr("data-t1", (bin + 1) * d_.bin_ns) + " x=\"" + num(x(bin * d_.bin_ns)) +
                "\" y=\"" + num(top) + "\" width=\"" + num(std::max(x(d_.bin_ns) - kLeft, 0.6)) +
                "\" height=\"" + num(kLaneHeight) + "\" fill=\"" + colour + "\"><title>" +
                std::to_string(n) + " " + plural + "</title></rect>\n";
        }
    }

    void heartbeats() {
        lane_marks(
            0, d_.heartbeat_offsets, "heartbeat", "#2a9d8f", [](std::size_t) { return ""; },
            "heartbeats");
    }

    // What the client chose to send (subscriptions and the like): its pongs answer the server's
    // pings and would only repeat the heartbeat lane.
    void client_messages() {
        std::vector<const schema::ClientMessage*> shown;
        std::vector<std::int64_t> times;
        for (const schema::ClientMessage& m : d_.client_messages) {
            if (m.kind != schema::MessageKind::pong && m.kind != schema::MessageKind::ping) {
                shown.push_back(&m);
                times.push_back(m.offset_ns);
            }
        }
        lane_marks(
            1, times, "client-message", "#6a4c93",
            [&](std::size_t i) {
                return xml("sent " + std::string(schema::to_string(shown[i]->kind)) + ": " +
                               shown[i]->bytes,
                           200);
            },
            "messages sent");
    }

    void frames() {
        const double top = lane_top(2);
        for (std::size_t i = 0; i < d_.frames.size(); ++i) {
            const schema::PlotFrame& f = d_.frames[i];
            const auto rank = std::find(d_.event_names.begin(), d_.event_names.end(), f.event) -
                              d_.event_names.begin();
            const char* colour = f.kind == schema::FrameKind::event ? event_colour(rank) : "#999";
            std::string title =
                "#" + std::to_string(f.seq) + " " + std::string(schema::to_string(f.kind));
            if (!f.event.empty()) {
                title += " " + f.event;
            }
            if (!f.object_id.empty()) {
                title += " " + f.object_id;
            }
            tick(top, f.offset_ns, colour,
                 " class=\"frame\" data-frame=\"" + std::to_string(i) + "\"", xml(title));
        }
    }

    std::int64_t tick_step() const {
        for (const std::int64_t step :
             {1'000'000LL,          2'000'000LL,         5'000'000LL,         10'000'000LL,
              20'000'000LL,         50'000'000LL,        100'000'000LL,       250'000'000LL,
              500'000'000LL,        1'000'000'000LL,     2'000'000'000LL,     5'000'000'000LL,
              10'000'000'000LL,     15'000'000'000LL,    30'000'000'000LL,    60'000'000'000LL,
              120'000'000'000LL,    300'000'000'000LL,   600'000'000'000LL,   900'000'000'000LL,
              1'800'000'000'000LL,  3'600'000'000'000LL, 7'200'000'000'000LL, 21'600'000'000'000LL,
              43'200'000'000'000LL, 86'400'000'000'000LL}) {
            if (span_ / step <= 10) {
                return step;
            }
        }
        return (span_ / 10 / 86'400'000'000'000LL + 1) * 86'400'000'000'000LL;
    }

    void time_axis() {
        const double y = lane_top(d_.single_frames ? 3 : 2);
        out_ += "<g id=\"time-axis\"><line x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) +
                "\" y1=\"" + num(y) + "\" y2=\"" + num(y) + "\" stroke=\"" + kMuted + "\"/>";
        const std::int64_t step = tick_step();
        for (std::int64_t t = 0; t <= span_; t += step) {
            out_ += "<line x1=\"" + num(x(t)) + "\" x2=\"" + num(x(t)) + "\" y1=\"" + num(y) +
                    "\" y2=\"" + num(y + 5) + "\" stroke=\"" + kMuted + "\"/><text x=\"" +
                    num(x(t)) + "\" y=\"" + num(y + 18) + "\" text-anchor=\"middle\" fill=\"" +
                    kMuted + "\">" + time_tick_label(t, step) + "</text>";
        }
        out_ += "</g>\n<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y + 18) +
                "\" text-anchor=\"end\" fill=\"" + kMuted + "\">since start</text>\n";
    }

    // Legend entries: each event type, then the marks.
    std::size_t legend_entries() const { return d_.event_names.size() + 4; }
    int legend_rows() const { return static_cast<int>((legend_entries() + 5) / 6); }

    void legend() {
        std::vector<std::pair<std::string, const char*>> entries;
        for (std::size_t e = 0; e < d_.event_names.size(); ++e) {
            entries.emplace_back(event_label(d_.event_names[e]), event_colour(e));
        }
        entries.emplace_back("connection", kConnFill);
        entries.emplace_back("failed attempt", kFailed);
        entries.emplace_back("gap", kGapFill);
        entries.emplace_back("heartbeat", "#2a9d8f");
        const double top = lane_top(d_.single_frames ? 3 : 2) + 40;
        out_ += "<g id=\"legend\">";
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const double lx = kLeft + static_cast<double>(i % 6) * 175;
            const double ly = top + 18 * std::floor(static_cast<double>(i) / 6);
            out_ += "<rect x=\"" + num(lx) + "\" y=\"" + num(ly - 10) +
                    "\" width=\"12\" height=\"12\" fill=\"" + entries[i].second + "\"/><text x=\"" +
                    num(lx + 18) + "\" y=\"" + num(ly) + "\">" + xml(entries[i].first, 24) +
                    "</text>";
        }
        out_ += "</g>\n";
    }

    const PlotData& d_;
    std::int64_t span_ = 1;
    double lanes_bottom_ = 0;
    std::string out_;
};

}  // namespace

std::string time_tick_label(std::int64_t ns, std::int64_t step_ns) {
    constexpr std::int64_t kS = 1'000'000'000, kM = 60 * kS, kH = 60 * kM, kD = 24 * kH;
    char out[48];
    if (ns == 0) {
        return "0";
    }
    if (step_ns < kS) {
        if (ns < kS) {
            std::snprintf(out, sizeof out, "%lldms", static_cast<long long>(ns / 1'000'000));
        } else {
            std::snprintf(out, sizeof out, "%gs", std::floor(static_cast<double>(ns) / 1e6) / 1000);
        }
        return out;
    }
    // Two units at most: the largest and, when it has one, the next.
    const std::array<std::pair<std::int64_t, const char*>, 4> units = {
        {{kD, "d"}, {kH, "h"}, {kM, "m"}, {kS, "s"}}};
    std::string label;
    for (std::size_t i = 0; i < units.size(); ++i) {
        if (ns >= units[i].first || i + 1 == units.size()) {
            label = std::to_string(ns / units[i].first) + units[i].second;
            if (i + 1 < units.size()) {
                const std::int64_t rest = ns % units[i].first / units[i + 1].first;
                if (rest > 0) {
                    label += std::to_string(rest) + units[i + 1].second;
                }
            }
            return label;
        }
    }
    return label;
}

std::string render_plot_svg(const PlotData& d) { return SvgPlot(d).render(); }

}  // namespace mastotape::tools
