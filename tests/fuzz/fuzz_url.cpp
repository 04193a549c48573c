// libFuzzer: a URL as a server or a user writes it (a streaming URL an instance names, a Link
// header's page, --rest-base). A URL that parses writes itself as one that parses back the same;
// its split parts are pieces of the text in order; percent coding round-trips; a token never
// survives without_access_token.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schema/mastodon/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mastotape;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto u = schema::parse_url(text)) {
        const auto again = schema::parse_url(u->str());
        if (!again || again->scheme != u->scheme || again->host != u->host ||
            again->port != u->port || again->target != u->target) {
            std::abort();
        }
    }
    if (const auto p = schema::split_url(text)) {
        const std::string joined = std::string(p->scheme) + "://" + std::string(p->authority) +
                                   std::string(p->path) + std::string(p->query) +
                                   std::string(p->fragment);
        if (joined != text) {
            std::abort();
        }
    }
    if (schema::percent_decode(schema::percent_encode(text)) != text) {
        std::abort();
    }
    const std::string without = schema::without_access_token(text);
    if (without.size() > text.size()) {
        std::abort();
    }
    (void)schema::loopback_address(text);
    return 0;
}
