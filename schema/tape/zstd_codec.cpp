#include "schema/tape/zstd_codec.hpp"

#include <zdict.h>
#include <zstd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <stdexcept>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mastotape::schema {
namespace {

constexpr std::uint32_t kCrc32cPolynomial = 0x82f63b78;  // reflected Castagnoli

const std::array<std::uint32_t, 256>& crc32c_table() {
    static const auto kTable = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) {
                c = (c & 1) != 0 ? (c >> 1) ^ kCrc32cPolynomial : c >> 1;
            }
            t[i] = c;
        }
        return t;
    }();
    return kTable;
}

std::uint32_t crc32c_portable(std::string_view bytes) {
    const auto& t = crc32c_table();
    std::uint32_t c = 0xffffffff;
    for (const char ch : bytes) {
        c = t[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
    }
    return c ^ 0xffffffff;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::string_view bytes) {
    std::uint64_t c = 0xffffffff;
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
    }
    auto c32 = static_cast<std::uint32_t>(c);
    for (; n > 0; ++p, --n) {
        c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(*p));
    }
    return c32 ^ 0xffffffff;
}
#endif

}  // namespace

std::optional<Compression> parse_compression(std::string_view text) {
    if (text == "none") {
        return Compression{Codec::none, 0};
    }
    if (text == "zstd") {
        return Compression{};
    }
    constexpr std::string_view kPrefix = "zstd:";
    if (text.substr(0, kPrefix.size()) != kPrefix) {
        return std::nullopt;
    }
    const std::string_view digits = text.substr(kPrefix.size());
    int level = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), level);
    if (ec != std::errc() || end != digits.data() + digits.size() || level < 1 || level > 19) {
        return std::nullopt;
    }
    return Compression{Codec::zstd, level};
}

std::uint32_t crc32c(std::string_view bytes) {
#if defined(__x86_64__)
    static const bool kHardware = __builtin_cpu_supports("sse4.2");
    if (kHardware) {
        return crc32c_sse42(bytes);
    }
#endif
    return crc32c_portable(bytes);
}

std::string train_dictionary(const std::vector<std::string>& samples, std::size_t capacity) {
    std::string joined;
    std::vector<std::size_t> sizes;
    sizes.reserve(samples.size());
    for (const auto& s : samples) {
        joined += s;
        sizes.push_back(s.size());
    }
    std::string dictionary(capacity, '\0');
    // zstd's own search over fastCover's parameters: ~0.1 s for 2,000 frames, and on frames
    // smaller dictionaries than any fixed choice of them.
    const std::size_t n = ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), joined.data(),
                                                sizes.data(), static_cast<unsigned>(sizes.size()));
    if (ZDICT_isError(n) != 0U) {
        return {};
    }
    dictionary.resize(n);
    return dictionary;
}

struct ZstdCompressor::Impl {
    ZSTD_CCtx* cctx = nullptr;
    ZSTD_CDict* cdict = nullptr;
    ~Impl() {
        ZSTD_freeCDict(cdict);
        ZSTD_freeCCtx(cctx);
    }
};

ZstdCompressor::ZstdCompressor(std::string_view dictionary, int level)
    : impl_(std::make_unique<Impl>()) {
    impl_->cctx = ZSTD_createCCtx();
    impl_->cdict = ZSTD_createCDict(dictionary.data(), dictionary.size(), level);
    if (impl_->cctx == nullptr) {
        throw std::bad_alloc();
    }
    if (impl_->cdict == nullptr) {
        throw std::runtime_error(
            "a compression dictionary of this tape is damaged; `mastotape verify` says which");
    }
}

ZstdCompressor::~ZstdCompressor() = default;

void ZstdCompressor::compress(std::string_view raw, std::string& out) {
    out.resize(ZSTD_compressBound(raw.size()));
    const std::size_t n = ZSTD_compress_usingCDict(impl_->cctx, out.data(), out.size(), raw.data(),
                                                   raw.size(), impl_->cdict);
    if (ZSTD_isError(n) != 0U) {
        throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    out.resize(n);
}

struct ZstdDecompressor::Impl {
    // A tape has a dictionary per session: reading them all holds only the most recent few.
    static constexpr std::size_t kMaxLoaded = 16;
    ZSTD_DCtx* dctx = nullptr;
    std::map<std::int64_t, ZSTD_DDict*> loaded;
    ~Impl() {
        for (auto& [id, d] : loaded) {
            ZSTD_freeDDict(d);
        }
        ZSTD_freeDCtx(dctx);
    }
};

ZstdDecompressor::ZstdDecompressor() : impl_(std::make_unique<Impl>()) {
    impl_->dctx = ZSTD_createDCtx();
    if (impl_->dctx == nullptr) {
        throw std::bad_alloc();
    }
}

ZstdDecompressor::~ZstdDecompressor() = default;

bool ZstdDecompressor::has(std::int64_t id) const { return impl_->loaded.count(id) != 0; }

bool ZstdDecompressor::load(std::int64_t id, std::string_view dictionary) {
    // A dictionary with zstd's magic number whose tables are cut short or garbled: no DDict.
    ZSTD_DDict* d = ZSTD_createDDict(dictionary.data(), dictionary.size());
    if (d == nullptr) {
        return false;
    }
    if (impl_->loaded.size() >= Impl::kMaxLoaded) {
        for (auto& [old, loaded] : impl_->loaded) {
            ZSTD_freeDDict(loaded);
        }
        impl_->loaded.clear();
    }
    ZSTD_freeDDict(impl_->loaded[id]);
    impl_->loaded[id] = d;
    return true;
}

bool ZstdDecompressor::decompress(std::int64_t id, std::string_view packed, std::size_t length,
                                  std::string& out) {
    const auto it = impl_->loaded.find(id);
    if (it == impl_->loaded.end()) {
        return false;
    }
    const unsigned long long stored = ZSTD_getFrameContentSize(packed.data(), packed.size());
    if (stored != length ||
        ZSTD_findFrameCompressedSize(packed.data(), packed.size()) != packed.size()) {
        return false;
    }
    out.resize(length);
    const std::size_t n = ZSTD_decompress_usingDDict(impl_->dctx, out.data(), out.size(),
                                                     packed.data(), packed.size(), it->second);
    return ZSTD_isError(n) == 0U && n == length;
}

}  // namespace mastotape::schema
