#include <iostream>
#include <memory>

#include "schema/tape/tape_verifier.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct VerifyOptions {
    std::string db;
    bool repair = false;
};

// A corrupt tape's error without the advice to run verify, which is running.
[[noreturn]] void rethrow_for_verify(const schema::TapeError& e, const std::string& path) {
    std::string message = e.what();
    const auto at = message.rfind(schema::kCorruptAdvice);
    if (at != std::string::npos && at + schema::kCorruptAdvice.size() == message.size()) {
        message.replace(at, std::string::npos,
                        "; `sqlite3 " + path + " .recover` may save what is still readable");
    }
    throw schema::TapeError(message);
}

int verify_store(const VerifyOptions& o, schema::TapeStore& store) {
    say_if_immutable(store);
    const auto report = schema::verify_tape(store, o.repair, now_wall_ns());
    for (const auto& r : report.repairs) {
        std::cout << "repaired: " << r << '\n';
    }
    for (const auto& p : report.problems) {
        std::cout << p << '\n';
    }
    std::cout << store.path() << ": " << report.sessions << " sessions, " << report.frames
              << " frames: "
              << (report.clean() ? std::string("clean")
                                 : std::to_string(report.problems.size()) + " problems")
              << '\n';
    return report.clean() ? kExitOk : kExitProblems;
}

int run_verify(const VerifyOptions& o) {
    const std::string path = resolve_db(o.db);
    try {
        schema::TapeStore store(path, o.repair ? schema::OpenMode::write : schema::OpenMode::read);
        return verify_store(o, store);
    } catch (const schema::TapeError& e) {
        rethrow_for_verify(e, path);
    }
}

}  // namespace

void add_verify_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<VerifyOptions>();
    auto* sub = app.add_subcommand(
        "verify",
        "Check a tape (integrity, gapless seqs, monotonic offsets, connections and gaps, frame "
        "columns); exit 0 only when clean, 4 when problems were found");
    add_db_option(*sub, o->db);
    sub->add_flag("--repair", o->repair,
                  "Close interrupted sessions at their last record (nothing else is changed)");
    sub->callback([o, &run] { run = [o] { return run_verify(*o); }; });
}

}  // namespace mastotape::tools
