#pragma once

// The picture `mastotape plot` draws of a session, as plain SVG (no scripts, no external assets,
// a viewBox so that it scales to any width). Time runs along x; from the top: gap labels,
// connections (bars labelled with how each ended, failed attempts as red marks), events per
// second stacked by event type, heartbeat ticks, client messages, and single frames for a short
// session; gaps are shaded bands across all of them.
//
// Every element placed in time carries its time as `data-t` (a point) or `data-t0`/`data-t1` (a
// span) in nanoseconds since the session start, and what it shows as `data-conn`, `data-gap`,
// `data-bin` or `data-frame` (an index into PlotData's vectors): the HTML page (plot_html.hpp)
// zooms and answers clicks with them. Everything the plot area holds is inside
// <g id="plot-area">; the time axis is <g id="time-axis">.

#include <string>

#include "schema/ops/session_plot.hpp"

namespace mastotape::tools {

std::string render_plot_svg(const schema::PlotData& d);

// A tick label for `ns` since the start when ticks are `step_ns` apart: 0, 250ms, 1.5s, 30s,
// 2m, 1m30s, 3h, 1h30m, 2d, 1d6h.
std::string time_tick_label(std::int64_t ns, std::int64_t step_ns);

}  // namespace mastotape::tools
