#pragma once

// `mastotape redact`: a session made safe to publish (schema/ops/redactor.hpp), as a JSONL tape
// that import reads into a new session. Two passes over the session with flat memory: the first
// reads the ids (for their offsets), the second writes every record with its entities redacted:
// event frames (their envelopes rebuilt around the redacted payload), backfilled items and their
// queries, connection URLs and headers, the session's source.

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>

#include "schema/ops/redactor.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

struct RedactSummary {
    std::map<std::string, std::int64_t> counts;  // per field
    std::size_t accounts = 0;
    std::size_t hosts = 0;
    std::int64_t frames = 0;
    std::int64_t unparsable = 0;  // event frames replaced by a placeholder
};

// Writes session `session_id` redacted to `out` (nullptr: a dry run, nothing written).
// `progress` (optional) is called with the frames done, every 65,536.
RedactSummary redact_session(TapeStore& store, std::int64_t session_id, Redactor::Options options,
                             std::ostream* out,
                             const std::function<void(std::int64_t)>& progress = nullptr);

}  // namespace mastotape::schema
