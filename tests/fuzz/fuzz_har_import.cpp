// libFuzzer: `import-har` over any text. It imports a session that verify finds sound, or throws
// TapeError (a one-line refusal) and adds nothing: never a crash, an overflow, or a session that
// verify and replay would refuse afterwards.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "schema/formats/har.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/tape/tape_verifier.hpp"

namespace {

// A tape file of this process's own, made anew for each input.
std::string fresh_tape() {
    static const std::string dir = [] {
        char tmpl[] = "/tmp/mastotape-fuzz-har-XXXXXX";
        return std::string(::mkdtemp(tmpl));
    }();
    const std::string path = dir + "/t.db";
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::remove((path + suffix).c_str());
    }
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mastotape;
    const std::string text(reinterpret_cast<const char*>(data), size);
    schema::TapeStore store(fresh_tape(), schema::OpenMode::create);
    try {
        const schema::HarImport r = schema::import_har(store, text, "fuzz.har", std::nullopt);
        if (!schema::check_session(store, store.session(r.session_id)).empty()) {
            std::abort();  // imported, but verify would refuse it
        }
    } catch (const schema::TapeError&) {
        if (!store.sessions().empty()) {
            std::abort();  // refused, but something was kept
        }
    }
    return 0;
}
