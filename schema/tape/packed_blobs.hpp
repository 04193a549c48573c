#pragma once

// The store's side of packed fields (rows.hpp: Field::packed, the frames' bytes and the
// backfilled bodies): which dictionary a session's rows are compressed with, where dictionaries
// are kept (the `dictionaries` table), and the reading back of a row's raw bytes with its length
// and checksum checked. Private to schema/; one BlobPacker and one BlobUnpacker per TapeStore.

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/tape/tape_store.hpp"
#include "schema/tape/zstd_codec.hpp"

namespace mastotape::schema {

// A blob as a row keeps it: its bytes (compressed or not), how, and what they decompress to.
struct PackedBlob {
    Codec codec = Codec::none;
    std::optional<std::int64_t> dictionary_id;
    std::string_view bytes;
    std::int64_t length = 0;
    std::uint32_t checksum = 0;
};

// Frames a session's own dictionary is trained on: the first this many, or the first
// kTrainingBytes of them, whichever comes first.
inline constexpr std::size_t kTrainingFrames = 2000;
inline constexpr std::size_t kTrainingBytes = 4 << 20;
inline constexpr std::size_t kDictionaryCapacity = 64 << 10;

class BlobPacker {
   public:
    explicit BlobPacker(SQLite::Database& db);
    ~BlobPacker();

    void set_compression(Compression c);

    // Inside the transaction of a batch of `session_id`, before its rows are bound: picks the
    // session's dictionary (the built-in one until the session has its own) and, when this batch
    // completes the session's training samples, trains the session's own. A dictionary is stored
    // before any row that uses it, in the same transaction.
    void begin_batch(const Batch& b);
    // The stored form of `raw` in the current batch's session; valid until the next call.
    PackedBlob pack(std::string_view raw);
    // After a rollback: the dictionaries stored in it are gone, so nothing cached about them holds.
    void forget();

   private:
    struct SessionCodec;
    SessionCodec& session_codec(std::int64_t session_id);
    std::int64_t store_dictionary(std::optional<std::int64_t> session_id, std::string_view bytes,
                                  std::int64_t trained_on);
    void train(std::int64_t session_id, SessionCodec& c);

    SQLite::Database& db_;
    Compression compression_;
    std::map<std::int64_t, std::unique_ptr<SessionCodec>> sessions_;
    SessionCodec* current_ = nullptr;
    std::string out_;
};

class BlobUnpacker {
   public:
    BlobUnpacker(SQLite::Database& db, std::string path);
    ~BlobUnpacker();

    // The raw bytes of the packed field whose bytes column is column `first` of `st`'s current
    // row (the kPackedColumns follow it) into `out`; false when they are damaged: they do not
    // decompress, or not to their stored length and checksum, or their dictionary is missing.
    bool unpack(SQLite::Statement& st, int first, std::string& out);

   private:
    bool load(std::int64_t dictionary_id);

    SQLite::Database& db_;
    std::string path_;
    std::unique_ptr<SQLite::Statement> dictionary_;
    ZstdDecompressor zstd_;
};

}  // namespace mastotape::schema
