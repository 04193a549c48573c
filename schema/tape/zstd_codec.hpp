#pragma once

// Compression of a tape's large blobs (frame bytes, backfilled bodies): zstd with a dictionary,
// and the CRC-32C of the raw bytes that every stored blob carries, compressed or not. Nothing here
// knows SQL: which dictionary a row uses and where dictionaries are kept is packed_blobs.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mastotape::schema {

// How a row's blob is stored, as its `codec` column holds it. Never renumbered.
enum class Codec : std::int64_t { none = 0, zstd = 1 };

// What writers store new blobs as (`--compress`).
struct Compression {
    Codec codec = Codec::zstd;
    int level = 3;
};
// "zstd", "zstd:LEVEL" (1-19) or "none"; nullopt for anything else.
std::optional<Compression> parse_compression(std::string_view text);
// What --compress says for each choice, for help texts.
inline constexpr std::string_view kCompressionHelp =
    "How frame bytes and backfilled bodies are stored: zstd (level 3, with a dictionary trained "
    "on the session's first frames), zstd:LEVEL (1-19) or none";

// CRC-32C (Castagnoli) of `bytes`, with the SSE 4.2 instruction where the CPU has it.
std::uint32_t crc32c(std::string_view bytes);

// The dictionary built into mastotape (trained on `synth` sessions by
// tools/make_default_dictionary.sh): what a session's first frames are compressed with, before
// the session's own dictionary is trained.
std::string_view builtin_dictionary();

// A dictionary of at most `capacity` bytes trained on `samples`; empty when zstd cannot train one
// (too few or too uniform samples).
std::string train_dictionary(const std::vector<std::string>& samples, std::size_t capacity);

// Compresses with one dictionary at one level. Not thread-safe; one per writer.
class ZstdCompressor {
   public:
    ZstdCompressor(std::string_view dictionary, int level);
    ~ZstdCompressor();
    ZstdCompressor(const ZstdCompressor&) = delete;
    ZstdCompressor& operator=(const ZstdCompressor&) = delete;

    // `raw` compressed into `out` (replacing it): one zstd frame with the raw size and the
    // dictionary's id in its header, so that the zstd tool can also read it.
    void compress(std::string_view raw, std::string& out);

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Decompresses with any of a tape's dictionaries. Not thread-safe; one per reader.
class ZstdDecompressor {
   public:
    ZstdDecompressor();
    ~ZstdDecompressor();
    ZstdDecompressor(const ZstdDecompressor&) = delete;
    ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

    // Whether dictionary `id` is loaded; `load` makes it so (keeping a bounded number), or
    // returns false when zstd cannot load `dictionary` (damaged: truncated, say).
    bool has(std::int64_t id) const;
    bool load(std::int64_t id, std::string_view dictionary);
    // `packed` decompressed with dictionary `id` (loaded) into `out`; false unless it is one
    // whole zstd frame that decompresses to exactly `length` bytes.
    bool decompress(std::int64_t id, std::string_view packed, std::size_t length, std::string& out);

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mastotape::schema
