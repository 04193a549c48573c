#pragma once

// An archive of rotated tapes (--rotate, --db PATTERN, --retain): which file a recording writes
// next, when that file is due to close, and which closed files the retention policy deletes.
// Pure policy over names, times and sizes; the recorder and its file closer act on it.
//
// The pattern is a path with strftime fields, filled in local time (`archive/%Y-%m-%d.db`). When
// the name it gives exists (size rotation within a day, a restarted recorder), a sequence number
// goes before the extension: `archive/2026-12-07.1.db`, `.2.db`, ... The files of an archive are
// those the pattern could have named, with or without a sequence number.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mastotape::record {

struct RotationPolicy {
    enum class Every { never, hour, day, size };
    Every every = Every::never;
    std::int64_t bytes = 0;  // Every::size: the live file (with its WAL) at which it closes

    bool rotates() const { return every != Every::never; }
};

// "hourly", "daily", or a size: a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB;
// "1GiB", "500MB"). nullopt for anything else, or a size under 64 KiB.
std::optional<RotationPolicy> parse_rotation(std::string_view text);
// A size as parse_rotation reads one; nullopt when it is not one.
std::optional<std::int64_t> parse_size(std::string_view text);

struct RetentionPolicy {
    double days = 0;         // 0: closed files are kept whatever their age
    std::int64_t bytes = 0;  // 0: whatever their total size
    std::int64_t files = 0;  // 0: however many there are

    bool retains() const { return days > 0 || bytes > 0 || files > 0; }
};

// One file of the archive, as retention sees it.
struct ArchiveFile {
    std::string path;
    std::int64_t bytes = 0;
    std::int64_t modified_wall_ns = 0;
};

class ArchiveFiles {
   public:
    // Throws std::invalid_argument for a pattern whose fields are unknown to it.
    ArchiveFiles(std::string pattern, RotationPolicy rotation, RetentionPolicy retention);

    const RotationPolicy& rotation() const { return rotation_; }
    const RetentionPolicy& retention() const { return retention_; }

    // The pattern filled in for `wall_ns`.
    std::string name_at(std::int64_t wall_ns) const;
    // The path a file opened at `wall_ns` gets: the pattern filled in, with a sequence number
    // when that names an existing file, or a file this object named before (retention may have
    // deleted it: a name is never given twice).
    std::string path_at(std::int64_t wall_ns);
    // When a file opened at `wall_ns` is due to close by time (the next local hour or midnight);
    // nullopt when rotation is not by time.
    std::optional<std::int64_t> boundary_after(std::int64_t wall_ns) const;
    bool size_due(std::int64_t file_bytes) const {
        return rotation_.every == RotationPolicy::Every::size && file_bytes >= rotation_.bytes;
    }

    // Where this process keeps the next file made ahead, empty, so that a rotation only renames
    // it: `ROOT/.mastotape-next-PID.db` (not a name of the archive).
    std::string prepared_path() const;

    // The files of the archive that exist now, oldest first (by modification time, then name).
    std::vector<ArchiveFile> files() const;
    // What the retention policy deletes at `now_wall_ns`, oldest first: closed files older than
    // its days, and the oldest closed files while the archive is over its bytes or its count of
    // closed files. Never one of `open` (the file being written, and those whose sessions are
    // still being ended), which still count towards the bytes.
    std::vector<ArchiveFile> expired(const std::vector<std::string>& open,
                                     std::int64_t now_wall_ns) const;

   private:
    std::string pattern_;
    RotationPolicy rotation_;
    RetentionPolicy retention_;
    std::string root_;        // the pattern's leading folders without a field ("." when none)
    std::string name_regex_;  // what a file's path under root_ matches
    std::string last_name_;   // the name path_at filled in last, and the sequence it gave it
    int last_sequence_ = -1;  // (-1: none, 0: the name without a number)
};

// `to` as a path relative to the folder of `from` (both as the pattern makes them), for the
// rotation links a session keeps: "2026-12-08.db", or "../12/08.db" across folders.
std::string relative_to_folder_of(const std::string& from, const std::string& to);

}  // namespace mastotape::record
