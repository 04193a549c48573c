#pragma once

// The page `mastotape plot -o FILE.html` writes: one self-contained file (no network) holding the
// SVG of plot_svg.hpp, the session's records as JSON, and the script of tools/assets/plot.html
// that zooms and pans the time axis and shows a clicked frame's JSON, a gap's backfilled items,
// a connection's handshake or a bin's counts. Built from PlotData read with frame bytes.

#include <string>

#include "schema/ops/session_plot.hpp"

namespace mastotape::tools {

std::string render_plot_html(const schema::PlotData& d);

}  // namespace mastotape::tools
