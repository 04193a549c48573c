// libFuzzer: the tape reader over a damaged SQLite file (byte flips and truncations of a real
// tape, as libFuzzer mutates tests/corpus/fuzz_tape_reader/). Opening it, listing its sessions,
// verifying it and reading every frame either works or throws an exception with a message:
// never a crash, a hang or undefined behaviour.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include "schema/tape/tape_store.hpp"
#include "schema/tape/tape_verifier.hpp"

namespace {

std::string tape_path() {
    static const std::string path = [] {
        char tmpl[] = "/tmp/mastotape-fuzz-XXXXXX";
        return std::string(::mkdtemp(tmpl)) + "/tape.db";
    }();
    return path;
}

void read_everything(const std::string& path) {
    using namespace mastotape::schema;
    TapeStore store(path, OpenMode::read);
    for (const Session& s : store.sessions()) {
        (void)store.counts(s.id);
        (void)check_session(store, s);
        auto cursor = store.frames_from_seq(s.id, 0);
        Frame f;
        while (cursor.next(f)) {
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = tape_path();
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        std::remove((path + suffix).c_str());
    }
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
        read_everything(path);
    } catch (const std::exception& e) {
        if (std::string(e.what()).empty()) {
            __builtin_trap();  // an error says what it is
        }
    }
    return 0;
}
