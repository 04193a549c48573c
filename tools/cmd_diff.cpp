#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/tape_diff.hpp"
#include "schema/text/byte_codec.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

namespace fs = std::filesystem;

struct DiffCommand {
    std::string db;
    std::string a;
    std::string b;
    double tolerance_ms = 5;
    double time_scale = 1;
    std::vector<std::string> ignore;
    bool strict_attempts = false;
    std::size_t max_reported = 10;
    bool json = false;
};

bool all_digits(const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// One side of the diff: a session in a tape, or a JSONL tape imported into a scratch tape that
// is removed afterwards.
struct Opened {
    std::unique_ptr<schema::TapeStore> store;
    std::int64_t id = 0;
    fs::path scratch;

    Opened() = default;
    Opened(const Opened&) = delete;
    Opened& operator=(const Opened&) = delete;
    ~Opened() {
        store.reset();
        if (!scratch.empty()) {
            std::error_code ignored;
            fs::remove_all(scratch, ignored);
        }
    }
};

// What the file's first bytes say it is: "sqlite", "jsonl" or "" for neither.
std::string sniff(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw schema::TapeError(path + ": cannot read (no such file or no permission)");
    }
    char head[16] = {};
    in.read(head, sizeof head);
    const std::string got(head, static_cast<std::size_t>(in.gcount()));
    if (got.rfind("SQLite format 3", 0) == 0) {
        return "sqlite";
    }
    const auto first = got.find_first_not_of(" \t\r\n");
    return first != std::string::npos && got[first] == '{' ? "jsonl" : "";
}

// SPEC is ID (in --db), FILE (its newest session) or FILE:ID; FILE is a tape or a JSONL tape.
void open_side(const std::string& spec, const std::string& db, Opened& out) {
    std::string file = spec;
    std::int64_t id = 0;
    if (all_digits(spec) && !fs::exists(spec)) {
        file = resolve_db(db);
        id = std::stoll(spec);
    } else if (const auto colon = spec.rfind(':'); colon != std::string::npos &&
                                                   all_digits(spec.substr(colon + 1)) &&
                                                   !fs::exists(spec)) {
        file = spec.substr(0, colon);
        id = std::stoll(spec.substr(colon + 1));
    }
    const std::string kind = sniff(file);
    if (kind == "sqlite") {
        out.store = std::make_unique<schema::TapeStore>(file, schema::OpenMode::read);
        say_if_immutable(*out.store);
        out.id = session_or_newest(*out.store, id);
        return;
    }
    if (kind != "jsonl") {
        throw schema::TapeError(file + ": neither a tape nor a JSONL tape");
    }
    if (id > 1) {
        throw schema::TapeError(file + ": a JSONL tape holds one session; name it " + file +
                                " or " + file + ":1");
    }
    std::string scratch_template = (fs::temp_directory_path() / "mastotape-diff-XXXXXX").string();
    if (::mkdtemp(scratch_template.data()) == nullptr) {
        throw schema::TapeError("cannot make a scratch directory in " +
                                fs::temp_directory_path().string() + " (set TMPDIR)");
    }
    out.scratch = scratch_template;
    out.store = std::make_unique<schema::TapeStore>((out.scratch / "tape.db").string(),
                                                    schema::OpenMode::create);
    std::ifstream in(file, std::ios::binary);
    out.id = schema::import_jsonl(*out.store, in, file);
}

int run_diff(const DiffCommand& c) {
    schema::DiffOptions o;
    o.tolerance_ns = static_cast<std::int64_t>(c.tolerance_ms * 1e6);
    o.time_scale = c.time_scale;
    o.strict_attempts = c.strict_attempts;
    o.max_reported = c.max_reported;
    for (const auto& list : c.ignore) {
        std::stringstream items(list);
        for (std::string aspect; std::getline(items, aspect, ',');) {
            o.ignore.insert(aspect);
        }
    }
    Opened a;
    Opened b;
    try {
        open_side(c.a, c.db, a);
        open_side(c.b, c.db, b);
    } catch (const schema::TapeError& e) {
        std::cerr << "mastotape diff: " << schema::printable(e.what()) << '\n';
        return kExitUsage;
    }
    const auto result = schema::diff_sessions(*a.store, a.id, *b.store, b.id, o);
    if (c.json) {
        nlohmann::ordered_json out;
        out["equal"] = result.equal();
        out["differences"] = result.differences;
        out["by_aspect"] = result.by_aspect;
        out["connections"] = result.connections;
        out["frames"] = result.frames;
        out["gaps"] = result.gaps;
        out["backfilled"] = result.backfilled;
        out["worst_time_difference_ns"] = result.worst_lateness_ns;
        out["first"] = result.reported;
        std::cout << out.dump() << '\n';
    } else {
        for (const auto& line : result.reported) {
            std::cout << line << '\n';
        }
        if (static_cast<std::size_t>(result.differences) > result.reported.size()) {
            std::cout << "… and "
                      << result.differences - static_cast<std::int64_t>(result.reported.size())
                      << " more\n";
        }
        std::cout << result.summary(o) << '\n';
    }
    return result.equal() ? kExitOk : kExitFailure;
}

}  // namespace

void add_diff_command(CLI::App& app, Runner& run) {
    auto c = std::make_shared<DiffCommand>();
    auto* sub = app.add_subcommand(
        "diff",
        "Compare two sessions: frames (bytes, kinds, order), connections and how they ended, "
        "gaps, backfilled items, client messages and frame timing; exit 0 when equal, 1 when "
        "not, 2 on bad input");
    sub->add_option(
           "A", c->a,
           "ID (in --db), FILE (its newest session) or FILE:ID; FILE is a tape or a JSONL tape")
        ->required();
    sub->add_option("B", c->b, "The other session, named the same way")->required();
    add_db_option(*sub, c->db);
    sub->add_option("--time-tolerance", c->tolerance_ms,
                    "Milliseconds a frame may be off, measured from its connection's handshake")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--time-scale", c->time_scale,
                    "B was made at this speed (a replay at --speed 10: 10); A's times are divided "
                    "by it")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    std::string aspects;
    for (const auto& a : schema::diff_aspects()) {
        aspects += (aspects.empty() ? "" : ", ") + a;
    }
    sub->add_option("--ignore", c->ignore,
                    "Leave out of the comparison: " + aspects + " (repeat or separate with commas)")
        ->delimiter(',')
        ->check(CLI::IsMember(schema::diff_aspects()));
    sub->add_flag("--strict-attempts", c->strict_attempts,
                  "Also compare the failed connection attempts inside each gap");
    sub->add_option("--max-differences", c->max_reported, "How many differences to print")
        ->capture_default_str();
    sub->add_flag("--json", c->json, "Print the verdict as one JSON object");
    sub->callback([c, &run] { run = [c] { return run_diff(*c); }; });
}

}  // namespace mastotape::tools
