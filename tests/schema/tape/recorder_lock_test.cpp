// Telling a live recorder from a dead one by the lock it holds on its session.

#include "schema/tape/recorder_lock.hpp"

#include <catch2/catch.hpp>

#include "schema/tape/tape_store.hpp"
#include "tests/test_support.hpp"

using namespace mastotape::schema;
using mastotape::test::TempDir;

TEST_CASE("A session's lock says live while held and interrupted once let go, at once") {
    TempDir dir;
    const auto path = dir.file("t.db");
    TapeStore store(path, OpenMode::create);
    Session s;
    s.source = "test";
    s.settings_json = "{\"heartbeat_timeout_ms\":75000}";
    s.started_wall_ns = 1'000'000'000;
    std::unique_ptr<RecorderLock> lock;
    const auto id = store.create_session(s, &lock);
    const Session row = store.session(id);
    // The lock is seen here, so the session says readers may go by it.
    CHECK_THAT(row.settings_json, Catch::Contains("\"recorder_lock\":\"ofd\""));
    const std::int64_t fresh = row.updated_wall_ns;  // not stale by the heartbeat rule
    CHECK(recorder_alive(path, id) == true);
    CHECK(live_state(path, row, fresh) == SessionState::recording);
    lock.reset();  // the recorder died
    CHECK(recorder_alive(path, id) == false);
    CHECK(live_state(path, row, fresh) == SessionState::interrupted);

    // A session whose recorder took no lock (an older one) goes by staleness, as before.
    const auto old_id = store.create_session(s);
    const Session old_row = store.session(old_id);
    CHECK(live_state(path, old_row, old_row.updated_wall_ns) == SessionState::recording);
    CHECK(live_state(path, old_row, old_row.updated_wall_ns + 60'000'000'000) ==
          SessionState::interrupted);
}
