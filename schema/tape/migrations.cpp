#include "schema/tape/migrations.hpp"

namespace mastotape::schema {
namespace {

// Version 1: sessions, connection attempts, received frames, gaps and backfilled items.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    label           TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL,
    instance        TEXT NOT NULL DEFAULT '',
    transport       TEXT NOT NULL CHECK (transport IN ('websocket', 'sse')),
    subscriptions   TEXT NOT NULL,
    started_wall_ns INTEGER NOT NULL,
    ended_wall_ns   INTEGER,
    ended_offset_ns INTEGER,
    end_reason      TEXT NOT NULL DEFAULT '',
    end_detail      TEXT NOT NULL DEFAULT '',
    updated_wall_ns INTEGER NOT NULL,
    settings        TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE connections (
    session_id          INTEGER NOT NULL REFERENCES sessions (id),
    idx                 INTEGER NOT NULL,
    url                 TEXT NOT NULL,
    started_offset_ns   INTEGER NOT NULL,
    started_wall_ns     INTEGER NOT NULL,
    handshake_offset_ns INTEGER,
    http_status         INTEGER,
    error_message       TEXT NOT NULL DEFAULT '',
    subprotocol         TEXT NOT NULL DEFAULT '',
    response_headers    TEXT NOT NULL DEFAULT '{}',
    ended_offset_ns     INTEGER,
    ended_wall_ns       INTEGER,
    end_cause           TEXT NOT NULL DEFAULT '',
    close_code          INTEGER,
    close_reason        TEXT NOT NULL DEFAULT '',
    end_detail          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE frames (
    id             INTEGER PRIMARY KEY,
    session_id     INTEGER NOT NULL REFERENCES sessions (id),
    seq            INTEGER NOT NULL,
    connection_idx INTEGER NOT NULL,
    offset_ns      INTEGER NOT NULL,
    wall_ns        INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    parse_ok       INTEGER NOT NULL,
    stream         TEXT,
    event          TEXT,
    object_id      TEXT,
    bytes          BLOB NOT NULL
);
CREATE UNIQUE INDEX frames_by_seq ON frames (session_id, seq);
CREATE INDEX frames_by_time ON frames (session_id, offset_ns);
CREATE TABLE gaps (
    session_id          INTEGER NOT NULL REFERENCES sessions (id),
    idx                 INTEGER NOT NULL,
    from_connection_idx INTEGER NOT NULL,
    start_offset_ns     INTEGER NOT NULL,
    start_wall_ns       INTEGER NOT NULL,
    end_offset_ns       INTEGER,
    end_wall_ns         INTEGER,
    cause               TEXT NOT NULL,
    last_seq_before     INTEGER NOT NULL,
    backfill_status     TEXT NOT NULL DEFAULT 'none',
    backfill_error      TEXT NOT NULL DEFAULT '',
    backfilled          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE backfill_items (
    session_id       INTEGER NOT NULL REFERENCES sessions (id),
    seq              INTEGER NOT NULL,
    gap_idx          INTEGER NOT NULL,
    offset_ns        INTEGER NOT NULL,
    wall_ns          INTEGER NOT NULL,
    endpoint         TEXT NOT NULL,
    query            TEXT NOT NULL,
    http_status      INTEGER NOT NULL,
    object_id        TEXT NOT NULL,
    already_streamed INTEGER NOT NULL,
    body             BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);
)sql";

// Version 2: what the recorder sent (client messages), and indexes for the tools' queries by
// kind, event and object id.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE client_messages (
    session_id     INTEGER NOT NULL REFERENCES sessions (id),
    seq            INTEGER NOT NULL,
    connection_idx INTEGER NOT NULL,
    offset_ns      INTEGER NOT NULL,
    wall_ns        INTEGER NOT NULL,
    after_seq      INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    bytes          BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX frames_by_kind ON frames (session_id, kind, offset_ns);
CREATE INDEX frames_by_event ON frames (session_id, event);
CREATE INDEX frames_by_object ON frames (object_id) WHERE object_id IS NOT NULL;
CREATE INDEX backfill_by_object ON backfill_items (object_id);
)sql";

// Version 3: the event index also orders each stream's items by id (Mastodon's order: shorter
// ids first, then text order) with their offsets, so that a REST page of a replay is read from
// the index in O(page) instead of by replaying the session's events; backfilled items get the
// same order per endpoint.
constexpr std::string_view kVersion3 = R"sql(
DROP INDEX frames_by_event;
CREATE INDEX frames_by_event ON frames (session_id, event, stream, length(object_id), object_id,
                                        offset_ns);
CREATE INDEX backfill_by_endpoint ON backfill_items (session_id, endpoint, length(object_id),
                                                     object_id);
)sql";

// Version 4: compact tapes. Frame bytes and backfilled bodies may be stored zstd-compressed with a
// dictionary kept in the tape (one per session, trained on its first frames, and the built-in one
// a session starts with, shared: session_id NULL). Every row written from here on says its codec
// (0 none, 1 zstd), its dictionary, its raw length and the CRC-32C of its raw bytes; rows of older
// tapes keep codec 0 and no length or checksum, and are never rewritten by the migration.
constexpr std::string_view kVersion4 = R"sql(
CREATE TABLE dictionaries (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER REFERENCES sessions (id),
    codec       TEXT NOT NULL,
    trained_on  INTEGER NOT NULL,
    bytes       BLOB NOT NULL
);
ALTER TABLE frames ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
ALTER TABLE frames ADD COLUMN dictionary_id INTEGER REFERENCES dictionaries (id);
ALTER TABLE frames ADD COLUMN length INTEGER;
ALTER TABLE frames ADD COLUMN checksum INTEGER;
ALTER TABLE backfill_items ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backfill_items ADD COLUMN dictionary_id INTEGER REFERENCES dictionaries (id);
ALTER TABLE backfill_items ADD COLUMN length INTEGER;
ALTER TABLE backfill_items ADD COLUMN checksum INTEGER;
)sql";

}  // namespace

const std::vector<std::string_view>& migrations() {
    static const std::vector<std::string_view> kAll{kVersion1, kVersion2, kVersion3, kVersion4};
    return kAll;
}

}  // namespace mastotape::schema
