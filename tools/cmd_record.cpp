#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "record/recorder.hpp"
#include "schema/ops/tape_compact.hpp"
#include "schema/tape/new_tape.hpp"
#include "tools/commands.hpp"
#include "tools/listen_address.hpp"

namespace mastotape::tools {
namespace {

struct RecordCommandOptions {
    record::RecordOptions record;
    std::string db;
    std::vector<std::string> streams;
    std::string tag;
    std::string list;
    std::string transport = "websocket";
    std::string token_in = "header";
    std::string token_file;
    std::string token_on_command_line;
    std::string sync = "normal";
    bool no_backfill = false;
    std::size_t write_buffer_kib = record::RecordOptions{}.write_buffer_bytes / 1024;
    bool no_discovery = false;
    std::string rotate;
    double retain_days = 0;
    std::string retain_bytes;
    std::int64_t retain_files = 0;
    std::string metrics;
    bool allow_remote = false;
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

int usage_error(const std::string& message) {
    std::cerr << "mastotape record: " << message << '\n';
    return kExitUsage;
}

// A rotated file, closed: rewritten in the compact tape format (each session's own dictionary)
// beside itself, put in its place, and made read-only. A reader with the old file open keeps
// reading it; until the rename nothing at the path changes. It keeps the time it was last
// written (when its recording ended), which retention goes by. Says what it did.
std::string compact_closed_file(const std::string& path, const schema::Compression& compression) {
    struct stat recorded {};
    if (::stat(path.c_str(), &recorded) != 0) {
        throw schema::TapeError(path + ": gone before it could be compacted");
    }
    const std::string compacted = path + ".compacted";
    schema::remove_dead_leftovers(compacted, ".partial-", "");
    {
        schema::TapeStore from(path, schema::OpenMode::read);
        schema::NewTape to(compacted);
        to.store().set_compression(compression);
        schema::compact_tape(from, to.store());
        to.finish();
    }
    const struct timespec times[2] = {recorded.st_atim, recorded.st_mtim};
    ::utimensat(AT_FDCWD, compacted.c_str(), times, 0);
    ::chmod(compacted.c_str(), S_IRUSR | S_IRGRP | S_IROTH);
    std::filesystem::rename(compacted, path);
    std::error_code ec;
    const auto before = static_cast<std::uintmax_t>(recorded.st_size);
    const auto after = std::filesystem::file_size(path, ec);
    char note[96];
    std::snprintf(note, sizeof note, "compacted and made read-only: %.2f MB -> %.2f MB",
                  static_cast<double>(before) / 1e6, static_cast<double>(after) / 1e6);
    return note;
}

// --rotate, --retain, --retain-bytes and --metrics into `r`; an error message, empty when none.
std::string archive_options(const RecordCommandOptions& o, record::RecordOptions& r) {
    if (!o.rotate.empty()) {
        const auto rotation = record::parse_rotation(o.rotate);
        if (!rotation) {
            return "--rotate takes hourly, daily or a size of at least 64KiB (e.g. 1GiB, 500MB)";
        }
        r.rotation = *rotation;
        const schema::Compression c = r.compression;
        r.finish_file = [c](const std::string& path) { return compact_closed_file(path, c); };
    }
    if (!o.retain_bytes.empty()) {
        const auto bytes = record::parse_size(o.retain_bytes);
        if (!bytes || *bytes <= 0) {
            return "--retain-bytes takes a size (e.g. 50GiB)";
        }
        r.retention.bytes = *bytes;
    }
    if (o.retain_days < 0) {
        return "--retain takes a number of days above 0";
    }
    r.retention.days = o.retain_days;
    if (o.retain_files < 0) {
        return "--retain-files takes a number of files above 0";
    }
    r.retention.files = o.retain_files;
    if (r.retention.retains() && !r.rotation.rotates()) {
        return "--retain, --retain-bytes and --retain-files apply to the files of --rotate; add "
               "--rotate";
    }
    if (!o.metrics.empty()) {
        std::string error;
        const auto at = parse_listen_address(o.metrics, error);
        if (!at) {
            return "--metrics " + error;
        }
        if (!at->loopback && !o.allow_remote) {
            return "--metrics " + o.metrics +
                   " is not a loopback address; pass --allow-remote to serve other machines";
        }
        r.metrics_host = at->host;
        r.metrics_port = at->port;
    }
    return "";
}

// The exit code of a recording's outcome (README: exit codes).
int exit_code_of(record::RecordOutcome outcome) {
    switch (outcome) {
        case record::RecordOutcome::finished:
            return kExitOk;
        case record::RecordOutcome::failed:
            return kExitFailure;
        case record::RecordOutcome::token_refused:
            return kExitAuth;
    }
    return kExitFailure;
}

int run_record(RecordCommandOptions& o) {
    if (!o.token_on_command_line.empty()) {
        return usage_error(
            "refusing a token on the command line (it would show in `ps` and shell history); "
            "set ACCESS_TOKEN or MASTODON_ACCESS_TOKEN, or use --token-file FILE");
    }
    auto& r = o.record;
    // The seed's example reads STREAMING_DOMAIN, STREAM and ACCESS_TOKEN; so do we.
    if (r.target.empty()) {
        r.target = env("STREAMING_DOMAIN");
    }
    if (r.target.empty()) {
        return usage_error(
            "name an instance or streaming URL (or set STREAMING_DOMAIN), e.g. "
            "`mastotape record wss://streaming.example.social`");
    }
    if (o.streams.empty() && !env("STREAM").empty()) {
        o.streams.push_back(env("STREAM"));
    }
    if (!o.streams.empty()) {
        r.subscriptions.clear();
        for (const auto& spec : o.streams) {
            r.subscriptions.push_back(parse_stream_spec(spec, o.tag, o.list));
        }
    }
    auto transport = schema::transport_from_string(o.transport);
    if (!transport) {
        return usage_error("--transport must be websocket or sse");
    }
    r.transport = *transport;
    const auto token_in = schema::token_in_from_string(o.token_in);
    if (!token_in) {
        return usage_error("--token-in must be header, query or subprotocol");
    }
    r.token_in = *token_in;
    if (r.transport == schema::Transport::sse && r.token_in == schema::TokenIn::subprotocol) {
        return usage_error(
            "--token-in subprotocol is for WebSocket; over SSE use header (the default) or query");
    }
    if (o.sync != "normal" && o.sync != "full") {
        return usage_error("--sync must be normal or full");
    }
    r.sync_full = o.sync == "full";
    r.backfill = !o.no_backfill;
    r.write_buffer_bytes = o.write_buffer_kib * 1024;
    r.discover = !o.no_discovery;
    if (!o.token_file.empty()) {
        std::ifstream in(o.token_file);
        if (!in || !std::getline(in, r.token)) {
            std::cerr << "mastotape record: " << o.token_file << ": cannot read the token\n";
            return kExitFailure;
        }
        while (!r.token.empty() && (r.token.back() == '\r' || r.token.back() == ' ')) {
            r.token.pop_back();
        }
    } else {
        r.token = env("ACCESS_TOKEN");
        if (r.token.empty()) {
            r.token = env("MASTODON_ACCESS_TOKEN");
        }
    }
    r.db = resolve_db(o.db);
    if (const std::string error = archive_options(o, r); !error.empty()) {
        return usage_error(error);
    }
    try {
        record::Recorder recorder(r);
        if (!r.quiet) {
            std::cerr << "recording session " << recorder.session_id() << " into "
                      << recorder.path() << " (Ctrl-C to stop)\n";
        }
        return exit_code_of(recorder.run().outcome);
    } catch (const std::invalid_argument& e) {
        return usage_error(e.what());
    }
}

}  // namespace

void add_record_command(CLI::App& app, Runner& run) {
    auto o = std::make_shared<RecordCommandOptions>();
    auto* sub = app.add_subcommand(
        "record",
        "Record a live streaming connection into a tape. The token comes from ACCESS_TOKEN, "
        "MASTODON_ACCESS_TOKEN or --token-file, never from the command line.");
    sub->add_option("TARGET", o->record.target,
                    "Instance (example.social, https://example.social) or streaming URL "
                    "(wss://...); default $STREAMING_DOMAIN");
    add_db_option(*sub, o->db);
    add_compress_option(*sub, o->record.compression);
    sub->add_option(
        "--stream", o->streams,
        "Stream, NAME or NAME=PARAM (hashtag=rust, list=42); repeatable; default $STREAM, "
        "else user");
    sub->add_option("--tag", o->tag, "Tag for hashtag streams given without =PARAM");
    sub->add_option("--list", o->list, "List id for list streams given without =PARAM");
    sub->add_option("--transport", o->transport, "websocket or sse")->capture_default_str();
    sub->add_option("--label", o->record.label, "Session label");
    sub->add_option("--token-file", o->token_file, "Read the access token from this file");
    sub->add_option("--token", o->token_on_command_line,
                    "Refused: use ACCESS_TOKEN or --token-file");
    sub->add_option("--token-in", o->token_in,
                    "How to send the token: header (Authorization: Bearer), query (access_token=) "
                    "or subprotocol (Sec-WebSocket-Protocol)")
        ->capture_default_str();
    sub->add_option("--cacert", o->record.cacert, "Also trust this CA certificate (PEM)");
    sub->add_option("--heartbeat-timeout", o->record.heartbeat_timeout_s,
                    "Seconds of silence (no frame, no ping) before reconnecting (default 75 for "
                    "WebSocket, 40 for SSE)");
    sub->add_option("--backoff-start", o->record.backoff_start_s,
                    "First reconnect delay ceiling, seconds")
        ->capture_default_str();
    sub->add_option("--backoff-cap", o->record.backoff_cap_s,
                    "Largest reconnect delay ceiling, seconds")
        ->capture_default_str();
    sub->add_option("--seed", o->record.seed, "Seed for the backoff jitter (tests)");
    sub->add_option("--max-reconnects", o->record.max_reconnects,
                    "Give up after this many reconnects in a row without a healthy connection "
                    "(one that received a heartbeat or stayed up 5 s; default: never)");
    sub->add_option("--duration", o->record.duration_s, "Stop after this many seconds");
    sub->add_option("--max-events", o->record.max_events, "Stop after this many events");
    sub->add_option("--max-frame", o->record.max_frame,
                    "Largest frame accepted, bytes (bigger: close 1009)")
        ->capture_default_str();
    sub->add_option("--batch-interval", o->record.batch_interval_ms, "Commit at least every N ms")
        ->capture_default_str();
    sub->add_option("--batch-frames", o->record.batch_records, "Commit at least every N records")
        ->capture_default_str();
    sub->add_option("--write-buffer-kib", o->write_buffer_kib,
                    "Frames held for the disk at most, KiB; reading slows down past half of it")
        ->capture_default_str()
        ->check(CLI::Range(1, 4 * 1024 * 1024));
    sub->add_option("--sync", o->sync, "normal (batched commits) or full (durable per frame)")
        ->capture_default_str();
    sub->add_flag("--no-backfill", o->no_backfill, "Do not fetch what gaps missed over REST");
    sub->add_option("--backfill-limit", o->record.backfill_limit,
                    "Most items fetched per endpoint in each gap")
        ->capture_default_str();
    sub->add_option("--rest-base", o->record.rest_base,
                    "Where REST requests go (default: the instance, else the streaming host)");
    sub->add_flag("--no-discovery", o->no_discovery,
                  "Stream from the instance host without reading its streaming URL");
    sub->add_flag("--allow-insecure-streaming", o->record.allow_insecure_streaming,
                  "Accept a cleartext (ws://, http://) streaming URL named by an https:// "
                  "instance; the token then travels unencrypted");
    sub->add_option("--rotate", o->rotate,
                    "Start a new file hourly, daily or at a size (1GiB, 500MB) on the same "
                    "connection; --db is then a pattern with strftime fields "
                    "(archive/%Y-%m-%d.db); closed files are compacted and made read-only");
    sub->add_option("--retain", o->retain_days,
                    "With --rotate: delete closed files older than this many days");
    sub->add_option("--retain-bytes", o->retain_bytes,
                    "With --rotate: delete the oldest closed files while the archive is over this "
                    "size (50GiB)");
    sub->add_option("--retain-files", o->retain_files,
                    "With --rotate: keep at most this many closed files, deleting the oldest");
    sub->add_option("--metrics", o->metrics,
                    "Serve Prometheus metrics at HOST:PORT/metrics and health at /healthz "
                    "(loopback unless --allow-remote)");
    sub->add_flag("--allow-remote", o->allow_remote, "Allow --metrics on a non-loopback address");
    sub->add_flag("-q,--quiet", o->record.quiet, "Print nothing but errors");
    sub->add_flag("--json-log", o->record.json_log,
                  "Log connection changes as JSON lines on stderr");
    sub->callback([o, &run] { run = [o] { return run_record(*o); }; });
}

}  // namespace mastotape::tools
