#pragma once

// What every subcommand shares: where the tape is, exit codes, number and time formatting.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "schema/formats/scratch_tape.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/text/byte_codec.hpp"

namespace mastotape::tools {

// Exit codes, documented in `mastotape --help` and the README.
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,   // bad tape, bad file, I/O error
    kExitUsage = 2,     // bad command line
    kExitAuth = 3,      // the server refused the token (record)
    kExitProblems = 4,  // verify found problems
};

// The subcommand chosen on the command line, run after parsing.
using Runner = std::function<int()>;

// Adds `--db FILE` to a subcommand, bound to `db`.
void add_db_option(CLI::App& sub, std::string& db);
// Adds `--compress zstd|zstd:LEVEL|none` (how a writer stores frame bytes), bound to `c`.
void add_compress_option(CLI::App& sub, schema::Compression& c);
// `--db` if given, else $MASTOTAPE_DB, else ./mastotape.db.
std::string resolve_db(const std::string& flag);

// Says on stderr when `store` was opened as an immutable file (it is on a read-only location).
void say_if_immutable(const schema::TapeStore& store);

// A tape opened for reading, saying so when it was opened as an immutable file.
// A tape opened for reading by a command that only reads: a SQLite tape, or a JSONL tape (a
// fixture, by its .jsonl name) imported into a scratch tape that goes with the object. An error
// about the scratch tape names the JSONL file.
class ReadTape {
   public:
    explicit ReadTape(const std::string& path);
    ~ReadTape();
    ReadTape(const ReadTape&) = delete;
    ReadTape& operator=(const ReadTape&) = delete;
    schema::TapeStore& operator*() { return *store_; }
    schema::TapeStore* operator->() { return store_.get(); }

   private:
    std::unique_ptr<schema::ScratchTape> scratch_;  // before the store, which it outlives
    std::unique_ptr<schema::TapeStore> store_;
};

std::int64_t now_wall_ns();
// 1h02m03s, 4.250s, 12ms
std::string format_duration(std::int64_t ns);
// +12.345678 (seconds since the session start)
std::string format_offset(std::int64_t ns);
using schema::preview;
// True when stderr is a terminal (status lines only then).
bool stderr_is_tty();

}  // namespace mastotape::tools

#include <fstream>
#include <optional>

#include "schema/tape/model.hpp"
#include "schema/tape/new_tape.hpp"

namespace mastotape::tools {
// A JSONL file beside `target` (TARGET.WHAT-PID.jsonl), removed when this goes: what cut, redact
// and merge write a session through, so that memory stays flat, the input has been read to the
// end before anything is written, and import writes the session whole and verified, or not at
// all.
class JsonlTransit {
   public:
    JsonlTransit(const std::string& target, const std::string& what);
    ~JsonlTransit();
    JsonlTransit(const JsonlTransit&) = delete;
    JsonlTransit& operator=(const JsonlTransit&) = delete;
    std::ostream& out() { return out_; }
    // Closes the file and reads it into `store` as a new session (`name` in errors); its id.
    std::int64_t import_into(schema::TapeStore& store, const std::string& name);

   private:
    std::string path_;
    std::ofstream out_;
};

// A `--stream` value: NAME or NAME=PARAM; `tag`/`list` (from --tag/--list) fill in the parameter
// of hashtag and list streams given without one.
schema::Subscription parse_stream_spec(const std::string& spec, const std::string& tag,
                                       const std::string& list);
// `id` if non-zero, else the tape's newest session.
std::int64_t session_or_newest(schema::TapeStore& store, std::int64_t id);

// Where `synth` and `import` write one whole session: a file that does not exist yet is made by a
// schema::NewTape (nothing at the path until it is complete, nothing left behind on failure); an
// existing tape takes the session in one transaction.
class TapeTarget {
   public:
    TapeTarget(const std::string& path, schema::Compression compression);
    schema::TapeStore& store() { return fresh_ ? fresh_->store() : *existing_; }
    // Puts a new tape in place; returns the tape to read back what was written.
    schema::TapeStore& finish();

   private:
    std::string path_;
    std::optional<schema::NewTape> fresh_;
    std::optional<schema::TapeStore> existing_;
};
}  // namespace mastotape::tools
