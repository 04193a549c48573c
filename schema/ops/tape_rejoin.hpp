#pragma once

// `mastotape merge` of a rotated archive: the session a rotation continued in the next file is
// appended to the session it continues, so the archive reads back as the one session the live
// connection was. Its records are renumbered after the earlier ones, its offsets moved to count
// from the earlier session's start, and its first connection (the live one the rotation carried
// over) joined to the earlier session's last.

#include <cstdint>
#include <string>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// Whether session `next` (of the file at `next_path`) continues session `earlier` (in whatever
// tape it now is): `earlier` names that file and session as the one it rotated to, and ended when
// `next` began.
bool continues(const Session& earlier, const Session& next, const std::string& next_path);

// Appends session `next_id` of `from` to session `into` of `to`, in one transaction. Throws
// TapeError when `into` does not end in a rotation (its last connection `rotated`).
void rejoin_rotation(TapeStore& to, std::int64_t into, TapeStore& from, std::int64_t next_id);

}  // namespace mastotape::schema
