#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "schema/formats/har.hpp"
#include "schema/formats/jsonl_tape.hpp"
#include "tools/commands.hpp"
#include "tools/output_file.hpp"

namespace mastotape::tools {
namespace {

struct ExportOptions {
    std::string db;
    std::int64_t session = 0;
    std::string output;
    std::string format = "jsonl";
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
    write_output(o.output, [&](std::ostream& out) {
        if (o.format == "har") {
            schema::export_har(store, id, out);
        } else {
            schema::export_session(store, id, out);
        }
    });
    if (o.output.empty() || o.output == "-") {
        return kExitOk;
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

struct ImportHarOptions {
    std::string db;
    schema::Compression compression;
    std::string input;
    std::optional<std::size_t> entry;
};

int run_import_har(const ImportHarOptions& o) {
    std::ifstream file(o.input, std::ios::binary);
    if (!file) {
        throw schema::TapeError(o.input + ": cannot read (no such file or no permission)");
    }
    const std::string text((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    TapeTarget target(resolve_db(o.db), o.compression);
    const schema::HarImport r = schema::import_har(target.store(), text, o.input, o.entry);
    auto& store = target.finish();
    for (const std::string& note : r.notes) {
        std::cerr << "import-har: " << note << '\n';
    }
    std::cout << "imported " << (r.entries.size() == 1 ? "entry " : "entries ");
    for (std::size_t i = 0; i < r.entries.size(); ++i) {
        std::cout << (i ? "," : "") << r.entries[i];
    }
    std::cout << " of " << o.input << " into " << store.path() << " as session " << r.session_id
              << " (" << r.entries.size() << " connections, " << r.frames << " frames, "
              << r.client_messages << " client messages, " << r.gaps << " gaps, " << r.backfilled
              << " backfilled items)\n";
    return kExitOk;
}

}  // namespace

void add_import_har_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<ImportHarOptions>();
    auto* sub = app.add_subcommand(
        "import-har",
        "Read a browser's HAR export (a WebSocket or event-stream entry) into a new session");
    sub->add_option("FILE", o->input, "HAR file (Chrome DevTools, Firefox, mitmproxy)")->required();
    sub->add_option("--entry", o->entry,
                    "Index in log.entries of one entry to import as a session of its own "
                    "(default: every streaming entry of the first one's origin, as one session's "
                    "connections with their gaps)");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->callback([o, &run] { run = [o] { return run_import_har(*o); }; });
}

void add_export_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<ExportOptions>();
    auto* sub = app.add_subcommand("export", "Write a session as a JSONL tape or a HAR file");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    sub->add_option("-o,--output", o->output, "Output file (default: standard output)");
    sub->add_option("--format", o->format,
                    "jsonl (the tape, whole) or har (one entry per connection, for browsers' "
                    "tools and import-har)")
        ->default_val("jsonl")
        ->check(CLI::IsMember({"jsonl", "har"}));
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
