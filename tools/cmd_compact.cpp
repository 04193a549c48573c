// `mastotape compact`: a tape rewritten into a new file with its frames compressed (or, with
// --compress none, stored plain), every session whole, nothing at the new path unless all of it
// was copied (schema/ops/tape_compact.hpp).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "schema/ops/tape_compact.hpp"
#include "schema/tape/new_tape.hpp"
#include "schema/tape/recorder_lock.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct CompactOptions {
    std::string db;
    std::string out;
    schema::Compression compression;
    bool quiet = false;
};

// The bytes a tape takes on disk, with its WAL.
std::uintmax_t tape_bytes(const std::string& path) {
    std::error_code ec;
    std::uintmax_t n = std::filesystem::file_size(path, ec);
    const std::uintmax_t wal = std::filesystem::file_size(path + "-wal", ec);
    return ec ? n : n + wal;
}

int run_compact(const CompactOptions& o) {
    const std::string source = resolve_db(o.db);
    ReadTape from(source);
    for (const auto& s : from->sessions()) {
        if (schema::live_state(source, s, now_wall_ns()) == schema::SessionState::recording) {
            throw schema::TapeError(source + ": session " + std::to_string(s.id) +
                                    " is being recorded; compact the tape once it has ended");
        }
    }
    const auto started = std::chrono::steady_clock::now();
    schema::NewTape to(o.out);
    to.store().set_compression(o.compression);
    const bool status = !o.quiet && stderr_is_tty();
    const auto summary = schema::compact_tape(*from, to.store(), [&](const auto& p) {
        if (status) {
            std::cerr << "\rcompact: session " << p.session_id << ", " << p.frames_done << " / "
                      << p.frames_total << " frames" << std::flush;
        }
    });
    to.finish();
    if (status) {
        std::cerr << "\r\033[K";
    }
    if (!o.quiet) {
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const auto before = static_cast<double>(tape_bytes(source));
        const auto after = static_cast<double>(tape_bytes(o.out));
        std::printf(
            "compacted %lld sessions (%lld frames, %lld backfilled) of %s into %s: %.1f MB -> "
            "%.1f MB (%.1fx) in %.1f s\n",
            static_cast<long long>(summary.sessions), static_cast<long long>(summary.frames),
            static_cast<long long>(summary.backfilled), source.c_str(), o.out.c_str(), before / 1e6,
            after / 1e6, after > 0 ? before / after : 0.0, secs);
    }
    return kExitOk;
}

}  // namespace

void add_compact_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<CompactOptions>();
    auto* sub = app.add_subcommand(
        "compact",
        "Rewrite a tape into a new file with its frames compressed (every session, same ids, "
        "bytes unchanged); nothing is at OUT unless all of it was copied; the input is never "
        "changed");
    sub->add_option("OUT", o->out, "The new tape (must not exist)")->required();
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
    sub->callback([o, &run] { run = [o] { return run_compact(*o); }; });
}

}  // namespace mastotape::tools
