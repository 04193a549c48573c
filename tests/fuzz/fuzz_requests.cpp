// libFuzzer: what a client hands the replayer, parsed: the query (its parameters and token), an
// SSE path, a WebSocket client message, a fault spec (from --fault or the control API). A fault
// that parses describes itself as a spec that parses to it.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "replay/faults.hpp"
#include "schema/mastodon/client_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mastotape;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // "PATH?QUERY" as a request target.
    const auto q = text.find('?');
    const std::string_view path = text.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? "" : text.substr(q + 1);
    for (const char* key : {"stream", "tag", "list", "access_token", "ms", "seq", "add"}) {
        (void)schema::query_param(query, key);
    }
    (void)schema::request_token(text, query, text);
    (void)schema::sse_subscription(path, query);
    const schema::ClientCommand m = schema::parse_client_message(text);
    (void)m;
    std::string error;
    if (const auto fault = replay::parse_fault(text, error)) {
        std::string again_error;
        const auto again = replay::parse_fault(fault->describe(), again_error);
        if (!again || again->describe() != fault->describe()) {
            std::abort();
        }
    }
    return 0;
}
