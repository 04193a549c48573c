// mastotape: records Mastodon streaming sessions into tapes and replays them.
// A thin dispatcher: each subcommand lives in tools/cmd_*.cpp over the libraries.

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "schema/tape/tape_store.hpp"
#include "schema/text/byte_codec.hpp"
#include "tools/commands.hpp"
#include "tools/version.hpp"

namespace {

int run_main(int argc, char** argv) {
    using namespace mastotape::tools;
    CLI::App app{"mastotape: record Mastodon streaming sessions into tapes and replay them.",
                 "mastotape"};
    app.footer(
        "Exit codes: 0 ok, 1 failure (bad tape or file, I/O error) or, for diff, the sessions "
        "differ, 2 usage or unreadable input, 3 token refused by the server, 4 verify found "
        "problems.\n"
        "The tape is --db FILE, else $MASTOTAPE_DB, else ./mastotape.db.\n"
        "Run `mastotape SUBCOMMAND --help` for the options of each.");
    app.require_subcommand(1);
    app.set_version_flag("--version", version_text(),
                         "Print the version, the tape format, and the libraries' versions");
    Runner run;
    add_sessions_command(app, run);
    add_show_command(app, run);
    add_stats_command(app, run);
    add_plot_command(app, run);
    add_verify_command(app, run);
    add_export_command(app, run);
    add_import_command(app, run);
    add_import_har_command(app, run);
    add_cut_command(app, run);
    add_merge_command(app, run);
    add_compact_command(app, run);
    add_redact_command(app, run);
    add_synth_command(app, run);
    add_replay_command(app, run);
    add_record_command(app, run);
    add_diff_command(app, run);
    add_completion_command(app, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }
    try {
        return run ? run() : kExitUsage;
    } catch (const mastotape::schema::TapeError& e) {
        std::cerr << "mastotape: " << mastotape::schema::printable(e.what()) << '\n';
        return kExitFailure;
    } catch (const std::system_error& e) {
        std::cerr << "mastotape: " << e.code().message() << '\n';
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "mastotape: " << mastotape::schema::printable(e.what()) << '\n';
        return kExitFailure;
    }
}

}  // namespace

// What escapes run_main (a failure to set the commands up, say) is one line, not std::terminate.
int main(int argc, char** argv) {
    try {
        return run_main(argc, argv);
    } catch (...) {
        std::fputs("mastotape: internal error\n", stderr);
        return 1;
    }
}
