#pragma once

// Recorder options for a test against a replayer on loopback: quiet, quick to reconnect, and
// bounded should the test go wrong.

#include <string>

#include "record/recorder.hpp"

namespace mastotape::test {

inline record::RecordOptions loopback_recorder(const std::string& url, const std::string& db) {
    record::RecordOptions r;
    r.target = url;
    r.db = db;
    r.quiet = true;
    r.backoff_start_s = 0.05;
    r.backoff_cap_s = 0.2;
    r.seed = 7;
    r.max_reconnects = 200;
    r.duration_s = 60;
    return r;
}

}  // namespace mastotape::test
