#pragma once

// Where a command's output file goes, one rule for every output (`export -o`, `--report`,
// `--junit`, `plot -o`, `--port-file`):
//   - "-" or "": standard output;
//   - a regular file, or a name that does not exist yet: written whole to a temporary beside it and
//     renamed over it, so that a failure (a full disk, a kill) leaves no half file and the old one
//     in place; a symlink to a regular file replaces the file it points to, never the link;
//   - a character or block device, a FIFO: written in place (never replaced: as root, a rename
//     over /dev/null would make it a regular file);
//   - a directory, a socket: refused with a one-line error.

#include <functional>
#include <ostream>
#include <string>

namespace mastotape::tools {

enum class OutputTarget { standard_output, replaced_whole, written_in_place };

// What `write_output` would do with `path`. Throws schema::TapeError for a directory or a socket.
OutputTarget output_target(const std::string& path);

// Writes an output file through `write`, as the rule above says. Throws schema::TapeError naming
// the file when it cannot.
void write_output(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace mastotape::tools
