#pragma once

// The query flags that pick a stream's statuses on a REST timeline path it shares with other
// streams (mastodon-streaming.md section 10), as the recorder's backfill and synth write them.

#include <string>

#include "schema/model.hpp"

namespace mastotape::schema {

// public:local -> local=true, public:remote:media -> remote=true&only_media=true,
// hashtag:local -> local=true; empty for every other stream.
std::string timeline_flags(const Subscription& s);

}  // namespace mastotape::schema
