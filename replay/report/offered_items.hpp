#pragma once

// The items the tape made available to a client under test, read for its report: walked in id
// order per kind straight from the tape's indexes (each stream label the client subscribed to,
// and the recording's backfill of the endpoints that hold them), so that the same item on two
// streams or on the stream and in a backfill is one item, with no set of every id in memory.
// Beast-free.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "replay/report/client_log.hpp"
#include "replay/tape_plan.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::replay {

// The event frames that went out to a client, from its runs of frame numbers (ClientLog), as
// row ids: a frame of the session went out if its row falls in one (row ids grow with seq).
class Delivered {
   public:
    Delivered(schema::TapeStore& store, std::int64_t session_id,
              const std::vector<std::pair<std::int64_t, std::int64_t>>& runs);
    bool contains(std::int64_t row) const;

   private:
    std::vector<std::pair<std::int64_t, std::int64_t>> rows_;  // sorted, apart
};

// An item the tape made available: from when (on the stream, or once the recording's backfill
// had it), when it happened (for a gap's item: the middle of the gap), a note, the endpoint that
// holds it, and whether one of its frames went out to the client.
struct OfferedItem {
    Item item;
    std::int64_t at = 0;
    std::int64_t happened = 0;
    std::string note;
    std::string endpoint;
    bool streamed = false;
};

// Calls `each` for every item the tape made available on `subs` up to tape time `reached`: kind
// by kind, in id order.
void for_each_offered(schema::TapeStore& store, const TapePlan& plan,
                      const std::vector<schema::Subscription>& subs, std::int64_t reached,
                      const Delivered& delivered,
                      const std::function<void(const OfferedItem&)>& each);

}  // namespace mastotape::replay
