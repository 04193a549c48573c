#pragma once

// One function per subcommand: each adds itself to the app and, when chosen, sets `run`.

#include <CLI/CLI.hpp>

#include "tools/cli_common.hpp"

namespace mastotape::tools {

void add_sessions_command(CLI::App& app, Runner& run);
void add_show_command(CLI::App& app, Runner& run);
void add_stats_command(CLI::App& app, Runner& run);
void add_plot_command(CLI::App& app, Runner& run);
void add_verify_command(CLI::App& app, Runner& run);
void add_synth_command(CLI::App& app, Runner& run);
void add_export_command(CLI::App& app, Runner& run);
void add_import_command(CLI::App& app, Runner& run);
void add_import_har_command(CLI::App& app, Runner& run);
void add_replay_command(CLI::App& app, Runner& run);
void add_record_command(CLI::App& app, Runner& run);
void add_diff_command(CLI::App& app, Runner& run);
void add_cut_command(CLI::App& app, Runner& run);
void add_merge_command(CLI::App& app, Runner& run);
void add_redact_command(CLI::App& app, Runner& run);
void add_compact_command(CLI::App& app, Runner& run);
// `completion`: reads the other subcommands off `app`, so add it last.
void add_completion_command(CLI::App& app, Runner& run);

}  // namespace mastotape::tools
