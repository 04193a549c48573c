#pragma once

// import-har's second half: the streaming entries of one origin, each read as a session of one
// connection, joined into one session as the recorder would have made it (see har.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/formats/har_entry.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// A GET of a list a backfill reads (a timeline, the notifications, the conversations) and what
// it answered: each item's exact bytes.
struct HarPage {
    std::int64_t wall_ns = 0;
    std::string endpoint;  // path
    std::string query;     // without the token
    std::int64_t status = 0;
    std::vector<std::string> items;
    std::optional<std::int64_t> gap;  // `_mastotapeGap`, when mastotape wrote the HAR
};

// The drafts, in time order, as one session: connection k is draft k's, a gap follows every
// established connection the capture did not end (its failed attempts inside it), and a page
// fetched inside a gap is that gap's backfill (with `_mastotapeGap`, the gap it names).
HarDraft join_entries(std::vector<HarDraft> drafts, const std::vector<HarPage>& pages);

}  // namespace mastotape::schema
