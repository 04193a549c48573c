#pragma once

// Every request clients made of the replayer's REST (timelines, the bot routes, and what no
// route answers), in order: who asked, when on its replay clock, where its stream stood (the
// last tape frame played to it), what it asked (method, path, query, body, with its access token
// removed), and the answer's status (and the stub that gave it). Served at /_mastotape/requests,
// and in the report and the JUnit output. Network thread only.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mastotape::replay {

struct JournalEntry {
    std::string client;                       // "client N", never the token
    std::int64_t at_ns = 0;                   // the client's replay clock, tape time
    std::optional<std::int64_t> position_ns;  // the last tape frame played to it
    std::string method;                       // "WS" for a WebSocket client's message (in `body`)
    std::string path;
    std::string query;  // token removed
    std::string body;   // token removed
    std::string content_type;
    int status = 0;
    bool matched = true;  // false: no route answered it (Mastodon's 404)
    std::string stub;     // the name of the stub that answered it, if one did
};

class RequestJournal {
   public:
    // The most it keeps (memory stays bounded under a client that never stops asking); past it,
    // requests are only counted, and a judgement on the journal says it is incomplete.
    static constexpr std::size_t kMaxEntries = 1'000'000;
    explicit RequestJournal(std::size_t max_entries = kMaxEntries) : max_entries_(max_entries) {}
    std::size_t max_entries() const { return max_entries_; }

    // Records a request; `token` (the one it carried) is removed from its query and body.
    void add(JournalEntry e, const std::string& token);
    const std::vector<JournalEntry>& entries() const { return entries_; }
    // Requests past max_entries(), not kept.
    std::uint64_t dropped() const { return dropped_; }
    // [{...}, ...]: what /_mastotape/requests serves as {"requests": [...]}, and the report.
    // Without `times` (a client-paced clock, --max-speed, where a request's time and position are
    // the machine's), at_s and position_s are left out, so that the same client gives the same
    // report on every run.
    std::string json() const;
    nlohmann::ordered_json list(bool times = true) const;
    // A line each: "client 1 at 12.300 s: POST /api/v1/statuses -> 200 (STUB, or unmatched)"
    std::string lines(bool times = true) const;

   private:
    std::vector<JournalEntry> entries_;
    std::size_t max_entries_;
    std::uint64_t dropped_ = 0;
};

}  // namespace mastotape::replay
