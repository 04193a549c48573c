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
    // Found by fuzz_url: an IPv6 origin was written without its brackets and did not parse back.
    CHECK(parse_url("http://[::1]:4000/a")->str() == "http://[::1]:4000/a");
    CHECK(parse_url("wss://[::1]/")->origin() == "wss://[::1]");
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

TEST_CASE("Any absolute URL splits into its parts as written") {
    const auto p = split_url("HTTPS://user@[::1]:8080/a/b?x=1&y#top");
    REQUIRE(p);
    CHECK(p->scheme == "HTTPS");
    CHECK(p->authority == "user@[::1]:8080");
    CHECK(p->path == "/a/b");
    CHECK(p->query == "?x=1&y");
    CHECK(p->fragment == "#top");
    const auto plain = split_url("mailto-ish://example.social");
    REQUIRE(plain);
    CHECK(plain->host == "example.social");
    CHECK(plain->port.empty());
    CHECK(plain->path.empty());
    CHECK(split_url("https://files.example:8443?q")->port == "8443");
    CHECK(split_url("https://[::1]/x")->host == "::1");
    for (const char* bad :
         {"", "example.social", "://x", "https://", "https:///path", "https://[::1"}) {
        INFO(bad);
        CHECK_FALSE(split_url(bad));
    }
    // parse_url: a fragment is dropped, a bare or unclosed IPv6 address or a port not a number
    // is refused (it threw std::invalid_argument for "[::1]:x").
    CHECK(parse_url("https://example.social/p?q=1#frag")->target == "/p?q=1");
    for (const char* bad : {"http://[::1]:x/", "http://[::1]:/", "http://::1:80/", "http://[::1]x/",
                            "[[]", "https://[example.social]/", "https://a]b/",
                            "https://user@example.social/", "https://host:/"}) {
        INFO(bad);
        CHECK_FALSE(parse_url(bad));
    }
}
