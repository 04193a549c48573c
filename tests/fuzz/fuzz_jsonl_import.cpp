// libFuzzer: the JSONL importer over any text. It imports or throws TapeError; what it imports
// exports to a tape that imports again to the same export.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/tape/tape_store.hpp"

namespace {

// A tape file of this process's own, made anew for each input.
std::string fresh_tape(const char* name) {
    static const std::string dir = [] {
        char tmpl[] = "/tmp/mastotape-fuzz-XXXXXX";
        return std::string(::mkdtemp(tmpl));
    }();
    const std::string path = dir + "/" + name;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::remove((path + suffix).c_str());
    }
    return path;
}

std::string import_and_export(const std::string& jsonl, const char* name) {
    mastotape::schema::TapeStore store(fresh_tape(name), mastotape::schema::OpenMode::create);
    std::istringstream in(jsonl);
    const std::int64_t id = mastotape::schema::import_jsonl(store, in, "fuzz.jsonl");
    std::ostringstream out;
    mastotape::schema::export_session(store, id, out);
    return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string jsonl(reinterpret_cast<const char*>(data), size);
    std::string exported;
    try {
        exported = import_and_export(jsonl, "a.db");
    } catch (const mastotape::schema::TapeError&) {
        return 0;  // refused, with a message: as it should
    }
    if (import_and_export(exported, "b.db") != exported) {
        std::abort();
    }
    return 0;
}
