// libFuzzer: a REST page's Link header as a server sends it, read for its next and prev pages.
// A page found is the text between a '<' and the next '>' of the header.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schema/mastodon/rest_endpoints.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mastotape;
    const std::string_view header(reinterpret_cast<const char*>(data), size);
    for (const char* rel : {"next", "prev"}) {
        if (const auto url = schema::link_url(header, rel)) {
            const auto at = header.find("<" + *url + ">");
            if (at == std::string_view::npos || url->find('>') != std::string::npos) {
                std::abort();
            }
        }
    }
    return 0;
}
