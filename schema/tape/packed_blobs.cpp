#include "schema/tape/packed_blobs.hpp"

#include <algorithm>

#include "schema/tape/sqlite_util.hpp"

namespace mastotape::schema {
namespace {

// No frame a recorder keeps is near this; a length past it is damage, not a frame to allocate.
constexpr std::int64_t kMaxBlobLength = std::int64_t{1} << 31;

}  // namespace

// One session's compression state on the writer.
struct BlobPacker::SessionCodec {
    std::int64_t dictionary_id = 0;
    std::unique_ptr<ZstdCompressor> compressor;
    bool trained = false;  // has its own dictionary, or training was tried
    std::vector<std::string> samples;
    std::size_t sample_bytes = 0;
};

BlobPacker::BlobPacker(SQLite::Database& db) : db_(db) {}
BlobPacker::~BlobPacker() = default;

void BlobPacker::set_compression(Compression c) {
    compression_ = c;
    forget();
}

void BlobPacker::forget() {
    sessions_.clear();
    current_ = nullptr;
}

std::int64_t BlobPacker::store_dictionary(std::optional<std::int64_t> session_id,
                                          std::string_view bytes, std::int64_t trained_on) {
    SQLite::Statement st(db_,
                         "INSERT INTO dictionaries (session_id, codec, trained_on, bytes) "
                         "VALUES (?, 'zstd', ?, ?)");
    bind_opt(st, 1, session_id);
    st.bind(2, trained_on);
    st.bind(3, static_cast<const void*>(bytes.data()), static_cast<int>(bytes.size()));
    st.exec();
    return db_.getLastInsertRowid();
}

BlobPacker::SessionCodec& BlobPacker::session_codec(std::int64_t session_id) {
    auto& slot = sessions_[session_id];
    if (slot) {
        return *slot;
    }
    auto c = std::make_unique<SessionCodec>();
    // A session written to before (by another process) goes on with its own dictionary.
    SQLite::Statement own(db_,
                          "SELECT id, bytes FROM dictionaries WHERE session_id = ? AND codec = "
                          "'zstd' ORDER BY id DESC LIMIT 1");
    own.bind(1, session_id);
    if (own.executeStep()) {
        c->dictionary_id = own.getColumn(0).getInt64();
        c->compressor =
            std::make_unique<ZstdCompressor>(column_bytes(own.getColumn(1)), compression_.level);
        c->trained = true;
    } else {
        const std::string_view builtin = builtin_dictionary();
        SQLite::Statement shared(db_,
                                 "SELECT id FROM dictionaries WHERE session_id IS NULL AND codec = "
                                 "'zstd' AND bytes = ?");
        shared.bind(1, static_cast<const void*>(builtin.data()), static_cast<int>(builtin.size()));
        c->dictionary_id = shared.executeStep() ? shared.getColumn(0).getInt64()
                                                : store_dictionary(std::nullopt, builtin, 0);
        c->compressor = std::make_unique<ZstdCompressor>(builtin, compression_.level);
    }
    slot = std::move(c);
    return *slot;
}

void BlobPacker::train(std::int64_t session_id, SessionCodec& c) {
    c.trained = true;
    const std::string dictionary = train_dictionary(c.samples, kDictionaryCapacity);
    const auto trained_on = static_cast<std::int64_t>(c.samples.size());
    c.samples.clear();
    c.samples.shrink_to_fit();
    if (dictionary.empty()) {
        return;  // the built-in dictionary stays
    }
    c.dictionary_id = store_dictionary(session_id, dictionary, trained_on);
    c.compressor = std::make_unique<ZstdCompressor>(dictionary, compression_.level);
}

void BlobPacker::begin_batch(const Batch& b) {
    current_ = nullptr;
    const auto packed = [](const Record& r) {
        return std::holds_alternative<Frame>(r) || std::holds_alternative<BackfillItem>(r);
    };
    if (compression_.codec == Codec::none ||
        std::none_of(b.records.begin(), b.records.end(), packed)) {
        return;
    }
    SessionCodec& c = session_codec(b.session_id);
    current_ = &c;
    if (c.trained) {
        return;
    }
    const auto sample = [&](const std::string& bytes) {
        if (c.samples.size() < kTrainingFrames && c.sample_bytes < kTrainingBytes) {
            c.samples.push_back(bytes);
            c.sample_bytes += bytes.size();
        }
    };
    for (const Record& r : b.records) {
        if (const auto* f = std::get_if<Frame>(&r)) {
            sample(f->bytes);
        } else if (const auto* item = std::get_if<BackfillItem>(&r)) {
            sample(item->body);
        }
    }
    if (c.samples.size() >= kTrainingFrames || c.sample_bytes >= kTrainingBytes) {
        train(b.session_id, c);
    }
}

PackedBlob BlobPacker::pack(std::string_view raw) {
    PackedBlob p;
    p.length = static_cast<std::int64_t>(raw.size());
    p.checksum = crc32c(raw);
    p.bytes = raw;
    if (current_ != nullptr) {
        current_->compressor->compress(raw, out_);
        if (out_.size() < raw.size()) {  // a tiny frame (a ping, `:thump`) is kept as it is
            p.codec = Codec::zstd;
            p.dictionary_id = current_->dictionary_id;
            p.bytes = out_;
        }
    }
    return p;
}

BlobUnpacker::BlobUnpacker(SQLite::Database& db, std::string path)
    : db_(db), path_(std::move(path)) {}
BlobUnpacker::~BlobUnpacker() = default;

bool BlobUnpacker::load(std::int64_t dictionary_id) {
    if (zstd_.has(dictionary_id)) {
        return true;
    }
    if (!dictionary_) {
        dictionary_ = std::make_unique<SQLite::Statement>(
            db_, "SELECT bytes FROM dictionaries WHERE id = ? AND codec = 'zstd'");
    }
    dictionary_->tryReset();
    dictionary_->bind(1, dictionary_id);
    if (!dictionary_->executeStep()) {
        return false;
    }
    const bool loaded = zstd_.load(dictionary_id, column_bytes(dictionary_->getColumn(0)));
    dictionary_->reset();
    return loaded;
}

bool BlobUnpacker::unpack(SQLite::Statement& st, int first, std::string& out) {
    const std::string_view stored = column_bytes(st.getColumn(first));
    const std::int64_t codec = st.getColumn(first + 1).getInt64();
    const auto dictionary_id = opt_int(st.getColumn(first + 2));
    const auto length = opt_int(st.getColumn(first + 3));
    const auto checksum = opt_int(st.getColumn(first + 4));
    if (codec == static_cast<std::int64_t>(Codec::none)) {
        out.assign(stored);
    } else if (codec == static_cast<std::int64_t>(Codec::zstd)) {
        if (!dictionary_id || !length || *length < 0 || *length > kMaxBlobLength ||
            !load(*dictionary_id) ||
            !zstd_.decompress(*dictionary_id, stored, static_cast<std::size_t>(*length), out)) {
            return false;
        }
    } else {
        return false;  // a codec of a newer mastotape would have come with a newer schema version
    }
    // Rows of tapes older than version 4 have neither.
    if (length && *length != static_cast<std::int64_t>(out.size())) {
        return false;
    }
    return !checksum || *checksum == static_cast<std::int64_t>(crc32c(out));
}

}  // namespace mastotape::schema
