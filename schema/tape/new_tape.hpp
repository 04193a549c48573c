#pragma once

#include <memory>
#include <string>

#include "schema/tape/tape_store.hpp"

namespace mastotape::schema {

// A tape file made whole in one go (`synth` or `import` into a file that does not exist yet).
// It is written beside `path` as `PATH.partial-PID` without a journal, so each page is written
// once (not once into the WAL and again into the file), then `finish` turns the WAL on, syncs the
// file and renames it into place. Until then nothing exists at `path`: destroyed unfinished (an
// error), it removes what it wrote, and a killed process leaves only the `.partial-PID` file.
class NewTape {
   public:
    // Throws TapeError when `path` exists or cannot be created.
    explicit NewTape(std::string path);
    ~NewTape();
    NewTape(const NewTape&) = delete;
    NewTape& operator=(const NewTape&) = delete;

    TapeStore& store() { return *store_; }
    // Closes the store and puts the tape at `path`. Throws TapeError when that fails or something
    // appeared at `path` meanwhile (then the finished tape is left at its `.partial-PID` name).
    void finish();

   private:
    std::string path_;
    std::string partial_;
    std::unique_ptr<TapeStore> store_;
    bool finished_ = false;
};

// True when `path` names nothing yet (a NewTape can make it).
bool tape_is_new(const std::string& path);

// Removes what killed processes left beside `target`: files named TARGET + `infix` + PID +
// `suffix` (and their -wal, -shm, -journal) whose PID no longer runs. A writer that dies by
// SIGKILL cannot clean up after itself; the next one does. Returns how many files went.
int remove_dead_leftovers(const std::string& target, const std::string& infix,
                          const std::string& suffix);

}  // namespace mastotape::schema
