// `mastotape plot`: one picture of a session, as plain SVG or as a self-contained HTML page.

#include <iostream>
#include <memory>

#include "schema/ops/session_plot.hpp"
#include "tools/commands.hpp"
#include "tools/output_file.hpp"
#include "tools/plot_html.hpp"
#include "tools/plot_svg.hpp"

namespace mastotape::tools {
namespace {

struct PlotCommandOptions {
    std::string db;
    std::int64_t session = 0;
    std::string output;
    std::string format;  // svg or html; default: the output's extension
    int bins = 600;
    std::int64_t max_frames = 2000;
};

// svg or html, from --format or the output's extension; "" when neither says.
std::string plot_format(const PlotCommandOptions& o) {
    if (!o.format.empty()) {
        return o.format;
    }
    for (const char* ext : {"svg", "html"}) {
        const std::string suffix = std::string(".") + ext;
        if (o.output.size() > suffix.size() &&
            o.output.compare(o.output.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return ext;
        }
    }
    return "";
}

int run_plot(const PlotCommandOptions& o) {
    const std::string format = plot_format(o);
    if (format.empty()) {
        std::cerr << "mastotape plot: say the format: -o FILE.svg, -o FILE.html or --format "
                     "svg|html\n";
        return kExitUsage;
    }
    ReadTape tape(resolve_db(o.db));
    schema::TapeStore& store = *tape;
    const std::int64_t id = session_or_newest(store, o.session);
    schema::PlotOptions options;
    options.max_bins = o.bins;
    options.max_single_frames = o.max_frames;
    options.frame_bytes = format == "html";
    const schema::PlotData d = schema::load_plot(store, id, options);
    write_output(o.output, [&](std::ostream& out) {
        out << (format == "html" ? render_plot_html(d) : render_plot_svg(d));
    });
    if (!o.output.empty() && o.output != "-") {
        std::cerr << "plotted session " << id << " (" << d.counts.events << " events, "
                  << d.connections.size() << " connections, " << d.gaps.size() << " gaps"
                  << (d.single_frames ? "" : ", binned by " + format_duration(d.bin_ns)) << ") to "
                  << o.output << '\n';
    }
    return kExitOk;
}

}  // namespace

void add_plot_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<PlotCommandOptions>();
    auto* sub = app.add_subcommand(
        "plot", "Draw a session: connections, gaps, event rate, heartbeats (SVG or HTML page)");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    sub->add_option("-o,--output", o->output,
                    "Output file, FILE.svg or FILE.html (- for standard output with --format)")
        ->required();
    sub->add_option("--format", o->format, "svg or html (default: from the output's extension)")
        ->check(CLI::IsMember({"svg", "html"}));
    sub->add_option("--bins", o->bins, "Bins of the event rate over the whole session")
        ->default_val(600)
        ->check(CLI::Range(10, 100000));
    sub->add_option("--max-frames", o->max_frames,
                    "Draw each frame of sessions with at most this many (else bins only)")
        ->default_val(2000)
        ->check(CLI::NonNegativeNumber);
    sub->callback([o, &run] { run = [o] { return run_plot(*o); }; });
}

}  // namespace mastotape::tools
