#include "schema/text/byte_codec.hpp"

#include <catch2/catch.hpp>

using namespace mastotape::schema;

TEST_CASE("Base64 round-trips every length and every byte value") {
    std::string bytes;
    for (int n = 0; n < 300; ++n) {
        bytes.push_back(static_cast<char>(n * 37 % 256));
        const std::string encoded = base64_encode(bytes);
        const auto decoded = base64_decode(encoded);
        REQUIRE(decoded.has_value());
        REQUIRE(*decoded == bytes);
    }
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
}

TEST_CASE("Base64 decoding rejects anything but the canonical padded form") {
    CHECK_FALSE(base64_decode("Zg=").has_value());
    CHECK_FALSE(base64_decode("Zh==").has_value());  // non-zero trailing bits
    CHECK_FALSE(base64_decode("Z===").has_value());
    CHECK_FALSE(base64_decode("Zm9v!A==").has_value());
    CHECK_FALSE(base64_decode("=m9v").has_value());
}

TEST_CASE("UTF-8 validation accepts text and rejects broken sequences") {
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("caf\xc3\xa9 \xf0\x9f\xa6\xa3 \xe2\x80\xa8"));
    CHECK_FALSE(is_valid_utf8("\xff"));
    CHECK_FALSE(is_valid_utf8("\xc3"));
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
}

TEST_CASE("valid_utf8 keeps text and puts U+FFFD for each byte that is not UTF-8") {
    using mastotape::schema::valid_utf8;
    CHECK(valid_utf8("caf\xc3\xa9 \xf0\x9f\x90\x98") == "caf\xc3\xa9 \xf0\x9f\x90\x98");
    CHECK(valid_utf8("a\xb3"
                     "b") ==
          "a\xef\xbf\xbd"
          "b");
    CHECK(valid_utf8("\xc3") == "\xef\xbf\xbd");                                  // cut short
    CHECK(valid_utf8("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
    CHECK(mastotape::schema::is_valid_utf8(valid_utf8("\xff\xfe\x80 x \xe2\x82")));
}

TEST_CASE("printable escapes what a terminal would act on and what is not UTF-8, keeps the rest") {
    // A raw escape sequence from a JSONL file or a server reached stderr as it was (issue 16).
    CHECK(printable("red \x1b[31mALERT\x1b[0m") == "red \\x1b[31mALERT\\x1b[0m");
    CHECK(printable("a\nb\rc\td\x7f") == "a\\nb\\x0dc\\x09d\\x7f");
    CHECK(printable("\xc2\x9b"
                    "2J") == "\\xc2\\x9b2J");  // C1 CSI
    CHECK(printable("caf\xc3\xa9 \xf0\x9f\x90\x98 \xc2\xa0") ==
          "caf\xc3\xa9 \xf0\x9f\x90\x98 \xc2\xa0");
    CHECK(printable("\x03\xe8") == "\\x03\\xe8");             // a close frame's code, as raw bytes
    CHECK(printable("x\xff\xe2\x82") == "x\\xff\\xe2\\x82");  // not UTF-8, cut short
    CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");    // a surrogate
    CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");             // an overlong form
    CHECK(is_valid_utf8(printable(std::string("\x00\x80\xfe", 3))));
    CHECK(printable("abcdef", 3) == "abc…");
}
