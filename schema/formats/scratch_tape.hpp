#pragma once

// A JSONL tape (a fixture) imported into a private SQLite tape in a temporary directory, for
// whatever plays it; the directory goes with the object.

#include <filesystem>
#include <string>

namespace mastotape::schema {

class ScratchTape {
   public:
    // Imports `jsonl`; throws TapeError naming `jsonl` and the line at fault.
    explicit ScratchTape(const std::string& jsonl);
    ~ScratchTape();
    ScratchTape(const ScratchTape&) = delete;
    ScratchTape& operator=(const ScratchTape&) = delete;

    // The SQLite tape.
    std::string path() const;
    // `message` with the scratch tape's path replaced by the JSONL file's: an error about the
    // scratch tape names the file the user gave.
    std::string in_users_words(std::string message) const;

   private:
    std::string jsonl_;
    std::filesystem::path dir_;
};

// Whether `path` names a JSONL tape (by its extension).
bool is_jsonl_path(const std::string& path);

}  // namespace mastotape::schema
