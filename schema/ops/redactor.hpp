#pragma once

// The pseudonyms of `mastotape redact`: what one Mastodon entity (a status, an account, a
// notification, a conversation...) becomes so that it is safe to publish, the same original
// always mapping to the same pseudonym. Accounts (by username and host) get a username, acct,
// display name and URLs of their own; hosts become instance-N.example; numeric ids shift by one
// offset per length, so they keep their length and their order (pagination still works); text
// keeps its shape (HTML tags, mentions, hashtags, links, custom emoji, whitespace and punctuation)
// with every letter and digit replaced; media URLs and blurhashes are neutralised.
//
// Ids need a first pass: observe() every entity, then freeze(), then redact().

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mastotape::schema {

class Redactor {
   public:
    struct Options {
        std::uint64_t seed = 1;
        std::set<std::string> keep_fields;  // JSON keys left as they are
        std::set<std::string> keep_hosts;   // hosts left as they are
        std::string home_host;              // the recorded instance: the host of local accounts
        std::int64_t shift_s = 0;           // moves every *_at time (created_at...) this far
    };
    explicit Redactor(Options o);

    // First pass: the ids in an entity's JSON (or a bare id), for the offsets.
    void observe(std::string_view json);
    // Chooses the id offsets; redact() may be called from then on.
    void freeze();

    // The redacted JSON of an entity (or of a bare id: a delete's payload); nullopt when it does
    // not parse.
    std::optional<std::string> redact(std::string_view json);
    // A URL with its host and the names and ids in its path mapped.
    std::string url(std::string_view u);
    // Every known host in free text (a header value, a label) mapped.
    std::string hosts_in(std::string_view text);
    std::string host(std::string_view h);

    // What was redacted, per field, and the distinct accounts and hosts.
    const std::map<std::string, std::int64_t>& counts() const { return counts_; }
    std::size_t accounts() const { return usernames_.size(); }
    std::size_t hosts() const { return hosts_.size(); }

    // Internal, for the JSON walk and the HTML pass.
    std::string id(std::string_view digits);
    std::string username(std::string_view name, std::string_view host);
    std::string scrambled(std::string_view text);
    std::string html(std::string_view html);
    // A media file's URL, neutralised (its host mapped, its path gone but for the extension).
    std::string media_url(std::string_view u);
    // What the string `value` of field `key` (in an object under `parent`) becomes; nullopt:
    // left as it is (an enum, a language, a count).
    std::optional<std::string> field(const std::string& key, const std::string& parent,
                                     const std::string& value);
    // An ISO 8601 time (2026-08-21T12:00:00.542Z, or a date) moved by shift_s; others as given.
    std::string shifted(const std::string& time) const;
    bool keeps(std::string_view field) const { return o_.keep_fields.count(std::string(field)); }
    void count(const std::string& field) { ++counts_[field]; }
    const Options& options() const { return o_; }

   private:
    Options o_;
    bool frozen_ = false;
    // Per id length: the smallest and largest id seen, then the offset.
    std::map<std::size_t, std::pair<std::uint64_t, std::uint64_t>> id_range_;
    std::map<std::size_t, std::int64_t> offset_;
    std::map<std::string, std::string> hosts_;      // original -> pseudonym
    std::map<std::string, std::string> usernames_;  // "name@host" (lower case) -> pseudonym
    std::set<std::string> taken_;                   // pseudonyms given
    std::map<std::string, std::int64_t> counts_;
};

}  // namespace mastotape::schema
