#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "schema/jsonl_tape.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct ExportOptions {
    std::string db;
    std::int64_t session = 0;
    std::string output;
};

struct ImportOptions {
    std::string db;
    schema::Compression compression;
    std::string input;
};

int run_export(const ExportOptions& o) {
    ReadTape tape(resolve_db(o.db));
    schema::TapeStore& store = *tape;
    const std::int64_t id = session_or_newest(store, o.session);
    if (o.output.empty() || o.output == "-") {
        schema::export_session(store, id, std::cout);
        return kExitOk;
    }
    // Written beside the target and renamed into place, so a failed export leaves no half file.
    const std::string tmp = o.output + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw schema::TapeError(o.output +
                                    ": cannot write (missing directory or no permission)");
        }
        try {
            schema::export_session(store, id, out);
        } catch (...) {
            out.close();
            std::remove(tmp.c_str());
            throw;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, o.output, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw schema::TapeError(o.output + ": cannot write: " + ec.message());
    }
    std::cerr << "exported session " << id << " to " << o.output << '\n';
    return kExitOk;
}

int run_import(const ImportOptions& o) {
    std::ifstream file;
    std::istream* in = &std::cin;
    const std::string name = o.input == "-" ? "<stdin>" : o.input;
    if (o.input != "-") {
        file.open(o.input, std::ios::binary);
        if (!file) {
            throw schema::TapeError(o.input + ": cannot read (no such file or no permission)");
        }
        in = &file;
    }
    TapeTarget target(resolve_db(o.db), o.compression);
    const std::int64_t id = schema::import_jsonl(target.store(), *in, name);
    auto& store_ref = target.finish();
    const auto counts = store_ref.counts(id);
    std::cout << "imported " << name << " into " << store_ref.path() << " as session " << id << " ("
              << counts.frames << " frames, " << counts.events << " events)\n";
    return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<ExportOptions>();
    auto* sub = app.add_subcommand("export", "Write a session as a JSONL tape");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    sub->add_option("-o,--output", o->output, "Output file (default: standard output)");
    sub->callback([o, &run] { run = [o] { return run_export(*o); }; });
}

void add_import_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<ImportOptions>();
    auto* sub = app.add_subcommand(
        "import", "Read a JSONL tape into a new session (all of it or, on any bad line, nothing)");
    sub->add_option("FILE", o->input, "JSONL tape, or - for standard input")->required();
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->callback([o, &run] { run = [o] { return run_import(*o); }; });
}

}  // namespace mastotape::tools
