#include "tools/output_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "schema/tape/tape_store.hpp"

namespace mastotape::tools {
namespace {

namespace fs = std::filesystem;

schema::TapeError cannot_write(const std::string& path, const std::string& why) {
    return schema::TapeError(path + ": cannot write (" + why + ")");
}

// A new or regular file: a temporary beside the file itself (a symlink's target), then renamed.
void replace_whole(const std::string& path, const std::function<void(std::ostream&)>& write) {
    std::error_code ec;
    const fs::path real = fs::is_symlink(path, ec) ? fs::canonical(path, ec) : fs::path(path);
    const std::string target = ec ? path : real.string();
    const std::string tmp = target + ".tmp-" + std::to_string(::getpid());
    const auto fail = [&](const std::string& why) {
        std::remove(tmp.c_str());
        return cannot_write(path, why);
    };
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw fail("missing directory or no permission");
        }
        try {
            write(out);
        } catch (...) {
            out.close();
            std::remove(tmp.c_str());
            throw;
        }
        out.flush();
        if (!out) {
            throw fail("is the disk full?");
        }
    }
    struct stat old {};
    if (::stat(target.c_str(), &old) == 0) {
        ::chmod(tmp.c_str(), old.st_mode & 07777);  // the file keeps its permissions
    }
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
        throw fail(std::strerror(errno));
    }
}

// A device or a FIFO: opened for writing as the shell's `>` opens it (a FIFO waits for its
// reader), never renamed over.
void write_in_place(const std::string& path, const std::function<void(std::ostream&)>& write) {
    std::ofstream out(path, std::ios::binary | std::ios::out);
    if (!out) {
        throw cannot_write(path, std::strerror(errno));
    }
    write(out);
    out.flush();
    if (!out) {
        throw cannot_write(path, "the device refused the write");
    }
}

}  // namespace

OutputTarget output_target(const std::string& path) {
    if (path.empty() || path == "-") {
        return OutputTarget::standard_output;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return OutputTarget::replaced_whole;  // a new file (or a dangling link: rename says why)
    }
    if (S_ISREG(st.st_mode)) {
        return OutputTarget::replaced_whole;
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
        return OutputTarget::written_in_place;
    }
    if (S_ISDIR(st.st_mode)) {
        throw cannot_write(path, "it is a directory; name a file in it");
    }
    throw cannot_write(path, "it is a socket or another special file; name a file");
}

void write_output(const std::string& path, const std::function<void(std::ostream&)>& write) {
    switch (output_target(path)) {
        case OutputTarget::standard_output:
            write(std::cout);
            std::cout.flush();
            return;
        case OutputTarget::replaced_whole:
            replace_whole(path, write);
            return;
        case OutputTarget::written_in_place:
            write_in_place(path, write);
            return;
    }
}

}  // namespace mastotape::tools
