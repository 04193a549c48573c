#include "tools/cli_common.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>

#include "schema/formats/jsonl_tape.hpp"

namespace mastotape::tools {

void add_db_option(CLI::App& sub, std::string& db) {
    sub.add_option("--db", db, "Tape file (default: $MASTOTAPE_DB, else ./mastotape.db)");
}

void add_compress_option(CLI::App& sub, schema::Compression& c) {
    const CLI::Validator valid(
        [](std::string& text) {
            return schema::parse_compression(text)
                       ? std::string()
                       : "must be zstd, zstd:LEVEL (LEVEL 1 to 19) or none, not \"" + text + "\"";
        },
        "zstd|zstd:LEVEL|none");
    sub.add_option_function<std::string>(
           "--compress", [&c](const std::string& text) { c = *schema::parse_compression(text); },
           std::string(schema::kCompressionHelp))
        ->check(valid)
        ->default_str("zstd");
}

std::string resolve_db(const std::string& flag) {
    if (!flag.empty()) {
        return flag;
    }
    if (const char* env = std::getenv("MASTOTAPE_DB"); env != nullptr && *env != '\0') {
        return env;
    }
    return "mastotape.db";
}

std::int64_t now_wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string format_duration(std::int64_t ns) {
    char out[48];
    const double secs = static_cast<double>(ns) / 1e9;
    if (ns < 1'000'000'000) {
        std::snprintf(out, sizeof out, "%.0fms", static_cast<double>(ns) / 1e6);
    } else if (secs < 60) {
        std::snprintf(out, sizeof out, "%.3fs", secs);
    } else {
        const auto total = static_cast<std::int64_t>(secs);
        if (total >= 3600) {
            std::snprintf(
                out, sizeof out, "%lldh%02lldm%02llds", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
        } else {
            std::snprintf(out, sizeof out, "%lldm%02llds", static_cast<long long>(total / 60),
                          static_cast<long long>(total % 60));
        }
    }
    return out;
}

std::string format_offset(std::int64_t ns) {
    char out[40];
    std::snprintf(out, sizeof out, "+%.6f", static_cast<double>(ns) / 1e9);
    return out;
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) != 0; }

}  // namespace mastotape::tools

#include "schema/mastodon/streams.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::tools {

schema::Subscription parse_stream_spec(const std::string& spec, const std::string& tag,
                                       const std::string& list) {
    schema::Subscription s;
    const auto eq = spec.find('=');
    s.stream = spec.substr(0, eq);
    if (eq != std::string::npos) {
        s.param = spec.substr(eq + 1);
    } else if (const auto* info = schema::find_stream(s.stream)) {
        s.param = info->param == schema::StreamParam::tag    ? tag
                  : info->param == schema::StreamParam::list ? list
                                                             : "";
    }
    return s;
}

std::int64_t session_or_newest(schema::TapeStore& store, std::int64_t id) {
    if (id != 0) {
        store.session(id);  // throws a clear error when there is no such session
        return id;
    }
    return store.newest_session_id();
}

void say_if_immutable(const schema::TapeStore& store) {
    if (store.immutable()) {
        std::cerr << "mastotape: " << store.path()
                  << ": on a read-only location: read as an immutable file\n";
    }
}

ReadTape::ReadTape(const std::string& path) {
    if (!schema::is_jsonl_path(path)) {
        store_ = std::make_unique<schema::TapeStore>(path, schema::OpenMode::read);
        say_if_immutable(*store_);
        return;
    }
    scratch_ = std::make_unique<schema::ScratchTape>(path);
    try {
        store_ = std::make_unique<schema::TapeStore>(scratch_->path(), schema::OpenMode::read);
    } catch (const schema::TapeError& e) {
        throw schema::TapeError(scratch_->in_users_words(e.what()));
    }
}

ReadTape::~ReadTape() = default;

namespace {

// TARGET.WHAT-PID.jsonl, after removing those that killed runs left.
std::string transit_path(const std::string& target, const std::string& what) {
    schema::remove_dead_leftovers(target, "." + what + "-", ".jsonl");
    return target + "." + what + "-" + std::to_string(::getpid()) + ".jsonl";
}

}  // namespace

JsonlTransit::JsonlTransit(const std::string& target, const std::string& what)
    : path_(transit_path(target, what)), out_(path_, std::ios::binary | std::ios::trunc) {
    if (!out_) {
        throw schema::TapeError(path_ + ": cannot write (missing directory or no permission)");
    }
}

JsonlTransit::~JsonlTransit() { std::remove(path_.c_str()); }

std::int64_t JsonlTransit::import_into(schema::TapeStore& store, const std::string& name) {
    out_.close();
    if (!out_) {
        throw schema::TapeError(path_ + ": write error (disk full?)");
    }
    std::ifstream in(path_, std::ios::binary);
    return schema::import_jsonl(store, in, name);
}

TapeTarget::TapeTarget(const std::string& path, schema::Compression compression) : path_(path) {
    if (schema::is_jsonl_path(path)) {
        throw schema::TapeError(path +
                                ": a JSONL tape is read here, never written in place; "
                                "give --out FILE.db (then `mastotape export` for JSONL)");
    }
    if (schema::tape_is_new(path)) {
        fresh_.emplace(path);
    } else {
        existing_.emplace(path, schema::OpenMode::create);
    }
    store().set_compression(compression);
}

schema::TapeStore& TapeTarget::finish() {
    if (fresh_) {
        fresh_->finish();
        fresh_.reset();
        existing_.emplace(path_, schema::OpenMode::read);
    }
    return *existing_;
}

}  // namespace mastotape::tools
