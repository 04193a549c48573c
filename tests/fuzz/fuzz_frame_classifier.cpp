// libFuzzer: the frame classifier, the SSE block parser and the envelope readers, over any bytes
// as a WebSocket message and as an SSE block. Classifying twice gives the same columns.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schema/mastodon/frame_classifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mastotape::schema;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    for (const Transport t : {Transport::websocket, Transport::sse}) {
        const FrameColumns a = classify_text(t, bytes, "[\"public\"]");
        const FrameColumns b = classify_text(t, bytes, "[\"public\"]");
        if (!(a == b)) {
            std::abort();
        }
        (void)event_payload(t, bytes);
    }
    (void)parse_sse_block(bytes);
    (void)entity_id(bytes);
    (void)is_sse_greeting(bytes);
    return 0;
}
