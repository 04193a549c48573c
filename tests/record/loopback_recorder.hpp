#pragma once

// Recorder options for a test against a replayer on loopback: quiet, quick to reconnect, and
// bounded should the test go wrong. Quick enough to reconnect within the window a recorded gap
// leaves between its last failed attempt and its reconnect (at --speed 10 about 0.1 s): a
// recorder back later than the recording was loses what was streamed meanwhile, as from a real
// server.

#include <string>

#include "record/recorder.hpp"

namespace mastotape::test {

inline record::RecordOptions loopback_recorder(const std::string& url, const std::string& db) {
    record::RecordOptions r;
    r.target = url;
    r.db = db;
    r.quiet = true;
    r.backoff_start_s = 0.02;
    r.backoff_cap_s = 0.05;
    r.seed = 7;
    r.max_reconnects = 200;
    r.duration_s = 60;
    return r;
}

}  // namespace mastotape::test
