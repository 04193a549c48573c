// `mastotape redact`: a session made safe to publish, into a new session
// (schema/ops/tape_redact.hpp).

#include <cstdio>
#include <iostream>
#include <memory>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/ops/tape_redact.hpp"
#include "tools/commands.hpp"

namespace mastotape::tools {
namespace {

struct RedactOptions {
    std::string db;
    schema::Compression compression;
    std::string out;
    std::int64_t session = 0;
    std::uint64_t seed = 1;
    std::vector<std::string> keep;
    std::vector<std::string> keep_hosts;
    double shift_s = 0;
    bool dry_run = false;
    bool quiet = false;
};

void say(const schema::RedactSummary& s, bool dry_run) {
    std::cerr << (dry_run ? "would redact: " : "redacted: ") << s.accounts << " accounts, "
              << s.hosts << " hosts, " << s.frames << " frames (" << s.unparsable
              << " unparsable, replaced)";
    for (const auto& [field, n] : s.counts) {
        std::cerr << "; " << field << " " << n;
    }
    std::cerr << '\n';
}

int run_redact(const RedactOptions& o) {
    schema::Redactor::Options ro;
    ro.seed = o.seed;
    ro.shift_s = static_cast<std::int64_t>(o.shift_s);
    ro.keep_fields.insert(o.keep.begin(), o.keep.end());
    for (const auto& h : o.keep_hosts) {
        std::string lowered = h;
        for (auto& c : lowered) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        ro.keep_hosts.insert(lowered);
    }
    const std::string source = resolve_db(o.db);
    const std::string target = o.out.empty() ? source : o.out;
    const bool status = !o.quiet && stderr_is_tty();
    const auto progress = [&](std::int64_t n) {
        if (status) {
            std::cerr << "\rredact: " << n << " frames" << std::flush;
        }
    };
    if (o.dry_run) {
        ReadTape tape(source);
        const auto id = session_or_newest(*tape, o.session);
        say(schema::redact_session(*tape, id, ro, nullptr, progress), true);
        return kExitOk;
    }
    JsonlTransit redacted(target, "redact");
    std::int64_t id = 0;
    schema::RedactSummary summary;
    {
        ReadTape tape(source);
        id = session_or_newest(*tape, o.session);
        summary = schema::redact_session(*tape, id, ro, &redacted.out(), progress);
        if (status) {
            std::cerr << '\r';
        }
    }
    TapeTarget into(target, o.compression);
    const std::int64_t made =
        redacted.import_into(into.store(), "the redacted session " + std::to_string(id));
    into.finish();
    say(summary, false);
    if (!o.quiet) {
        std::printf("redacted session %lld into %s as session %lld\n", static_cast<long long>(id),
                    target.c_str(), static_cast<long long>(made));
    }
    return kExitOk;
}

}  // namespace

void add_redact_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<RedactOptions>();
    auto* sub = app.add_subcommand(
        "redact",
        "Copy a session with every account, host, text and media link pseudonymized, safe to "
        "publish, into a new session; the input is never changed");
    sub->add_option("SESSION", o->session, "Session id (default: the newest)");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->compression);
    sub->add_option("--out", o->out, "Tape to write the new session into (default: the same)");
    sub->add_option("--seed", o->seed, "Seed of the pseudonyms (the same seed, the same ones)")
        ->capture_default_str();
    sub->add_option("--keep", o->keep, "JSON fields left as they are (e.g. created_at,language)")
        ->delimiter(',');
    sub->add_option("--keep-host", o->keep_hosts, "Hosts left as they are")->delimiter(',');
    sub->add_option("--shift-time", o->shift_s,
                    "Move every time in the entities (created_at, edited_at...) by this many "
                    "seconds (default: times kept)");
    sub->add_flag("--dry-run", o->dry_run, "Say what would be redacted; write nothing");
    sub->add_flag("-q,--quiet", o->quiet, "No summary line or progress");
    sub->callback([o, &run] { run = [o] { return run_redact(*o); }; });
}

}  // namespace mastotape::tools
