#include "schema/formats/scratch_tape.hpp"

#include <unistd.h>

#include <fstream>

#include "schema/formats/jsonl_tape.hpp"
#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

ScratchTape::ScratchTape(const std::string& jsonl) : jsonl_(jsonl) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "mastotape-replay-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw TapeError(jsonl + ": cannot make a temporary directory to replay it");
    }
    dir_ = tmpl;
    try {
        std::ifstream in(jsonl, std::ios::binary);
        if (!in) {
            throw TapeError(jsonl + ": cannot read (no such file or no permission)");
        }
        TapeStore store(path(), OpenMode::create);
        import_jsonl(store, in, jsonl);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

ScratchTape::~ScratchTape() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::string ScratchTape::path() const { return (dir_ / "tape.db").string(); }

std::string ScratchTape::in_users_words(std::string message) const {
    const std::string scratch = path();
    for (auto at = message.find(scratch); at != std::string::npos;
         at = message.find(scratch, at + jsonl_.size())) {
        message.replace(at, scratch.size(), jsonl_);
    }
    return message;
}

bool is_jsonl_path(const std::string& path) {
    return path.size() > 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
}

}  // namespace mastotape::schema
