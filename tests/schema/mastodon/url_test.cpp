// URLs as servers and users write them: parsing, percent coding, loopback, and a token left out.

#include "schema/mastodon/url.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using namespace mastotape::schema;

TEST_CASE("A URL parses into scheme, host, port and target, or not at all") {
    const struct {
        const char* text;
        bool ok;
        const char* scheme;
        const char* host;
        int port;
        const char* target;
    } cases[] = {
        {"wss://example.social/api/v1/streaming?stream=user", true, "wss", "example.social", 443,
         "/api/v1/streaming?stream=user"},
        {"http://127.0.0.1:4000", true, "http", "127.0.0.1", 4000, "/"},
        {"ws://[::1]:8080/x", true, "ws", "::1", 8080, "/x"},
        {"example.social", true, "https", "example.social", 443, "/"},
        {"https://example.social?x=1", true, "https", "example.social", 443, "/?x=1"},
        {"ftp://example.social", false, "", "", 0, ""},
        {"https://", false, "", "", 0, ""},
        {"https://host:99999/", false, "", "", 0, ""},
        {"https://host:abc/", false, "", "", 0, ""},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        const auto u = parse_url(c.text);
        REQUIRE(u.has_value() == c.ok);
        if (u) {
            CHECK(u->scheme == c.scheme);
            CHECK(u->host == c.host);
            CHECK(u->port == c.port);
            CHECK(u->target == c.target);
        }
    }
    CHECK(parse_url("https://example.social:443/a")->origin() == "https://example.social");
    CHECK(parse_url("http://127.0.0.1:4000/a")->str() == "http://127.0.0.1:4000/a");
}

TEST_CASE("Percent coding round-trips any bytes, and a token is left out by its decoded key") {
    for (const std::string& text :
         {std::string("rust"), std::string("a b&c=d+e/\u00e9"), std::string("\0\xff", 2)}) {
        CHECK(percent_decode(percent_encode(text)) == text);
    }
    CHECK(percent_encode("a b") == "a%20b");
    CHECK(percent_decode("a+b%2Bc") == "a b+c");
    CHECK(without_access_token("wss://h/api/v1/streaming?access_token=x&stream=user") ==
          "wss://h/api/v1/streaming?stream=user");
    CHECK(without_access_token("/p?%61ccess_token=x") == "/p");
    CHECK(without_access_token("min_id=1&access_token=x") == "min_id=1");
    for (const char* host : {"localhost", "127.0.0.1", "127.8.9.10", "::1"}) {
        CHECK(loopback_address(host));
    }
    for (const char* host : {"example.social", "10.0.0.1", "128.0.0.1", "::2", "localhost.evil"}) {
        CHECK_FALSE(loopback_address(host));
    }
}
