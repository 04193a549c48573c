// Compression of frames (issue 21): CRC-32C, the --compress choices, zstd with a dictionary.

#include "schema/tape/zstd_codec.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace mastotape::schema;

namespace {

// CRC-32C bit by bit, as the definition reads: what the table and the SSE 4.2 instruction must
// agree with.
std::uint32_t crc32c_by_definition(std::string_view bytes) {
    std::uint32_t c = 0xffffffff;
    for (const char ch : bytes) {
        c ^= static_cast<unsigned char>(ch);
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
        }
    }
    return c ^ 0xffffffff;
}

std::string frame_like(int i) {
    return R"({"stream":["public"],"event":"update","payload":"{\"id\":\")" +
           std::to_string(117133384095301632LL + i) +
           R"(\",\"created_at\":\"2026-08-21T11:59:59.887Z\",\"visibility\":\"public\",)"
           R"(\"content\":\"<p>caf\u00e9 日本語 👩‍💻 post number )" +
           std::to_string(i * 7919 % 1000) + R"(</p>\",\"account\":{\"acct\":\"alice\"}}"})";
}

}  // namespace

TEST_CASE("CRC-32C gives the standard check value and agrees with its definition") {
    CHECK(crc32c("123456789") == 0xE3069283U);
    CHECK(crc32c("") == 0U);
    std::mt19937 rng(7);
    for (const std::size_t n : {1U, 7U, 8U, 9U, 63U, 1000U, 70001U}) {
        std::string bytes(n, '\0');
        for (auto& b : bytes) {
            b = static_cast<char>(rng());
        }
        INFO(n);
        CHECK(crc32c(bytes) == crc32c_by_definition(bytes));
    }
}

TEST_CASE("Compression is zstd, zstd:LEVEL or none, and nothing else") {
    CHECK(parse_compression("zstd")->codec == Codec::zstd);
    CHECK(parse_compression("zstd")->level == 3);
    CHECK(parse_compression("zstd:19")->level == 19);
    CHECK(parse_compression("none")->codec == Codec::none);
    for (const char* bad :
         {"", "gzip", "zstd:", "zstd:0", "zstd:20", "zstd:3x", "zstd:-1", "ZSTD"}) {
        INFO(bad);
        CHECK_FALSE(parse_compression(bad));
    }
}

TEST_CASE("A frame compressed with a dictionary decompresses to itself and to nothing else") {
    const std::string raw = frame_like(1);
    ZstdCompressor builtin(builtin_dictionary(), 3);
    std::string packed;
    builtin.compress(raw, packed);
    CHECK(packed.size() < raw.size() / 2);

    ZstdDecompressor d;
    d.load(1, builtin_dictionary());
    std::string out;
    REQUIRE(d.decompress(1, packed, raw.size(), out));
    CHECK(out == raw);
    // The wrong length, a dictionary not loaded, a truncated or extended frame: refused.
    CHECK_FALSE(d.decompress(1, packed, raw.size() + 1, out));
    CHECK_FALSE(d.decompress(2, packed, raw.size(), out));
    CHECK_FALSE(d.decompress(1, packed.substr(0, packed.size() - 1), raw.size(), out));
    CHECK_FALSE(d.decompress(1, packed + "x", raw.size(), out));
}

TEST_CASE("A dictionary trained on a session's frames is stored whole and reads its frames back") {
    std::vector<std::string> samples;
    for (int i = 0; i < 2000; ++i) {
        samples.push_back(frame_like(i));
    }
    const std::string dictionary = train_dictionary(samples, 64 << 10);
    REQUIRE_FALSE(dictionary.empty());
    CHECK(dictionary.size() <= 64U << 10);
    ZstdCompressor own(dictionary, 3);
    ZstdDecompressor d;
    d.load(7, dictionary);
    std::string packed;
    std::string out;
    for (int i = 2000; i < 2100; ++i) {
        const std::string raw = frame_like(i);
        own.compress(raw, packed);
        REQUIRE(d.decompress(7, packed, raw.size(), out));
        CHECK(out == raw);
    }
    // Too few samples to train on: no dictionary, and the caller keeps the built-in one.
    CHECK(train_dictionary({"a", "b"}, 64 << 10).empty());
}
