// Every output option writes a regular file whole and leaves a device, a FIFO or a symlink what
// it was (issue 34: the suite, run as root, renamed a report over /dev/null).

#include "tools/output_file.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include <catch2/catch.hpp>

#include "schema/tape/tape_store.hpp"
#include "tests/replay/wire_client.hpp"
#include "tests/test_support.hpp"

using mastotape::test::Child;
using mastotape::test::RawWs;
using mastotape::test::read_file;
using mastotape::test::run_mastotape;
using mastotape::test::TempDir;
using mastotape::test::write_file;
using mastotape::tools::output_target;
using mastotape::tools::OutputTarget;
using mastotape::tools::write_output;

namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
    write_output(path, [&](std::ostream& out) { out << text; });
}

bool is_char_device(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

// A null device (major 1, minor 3) made in `dir`, where the suite runs as root; "" otherwise.
std::string scratch_null_device(const TempDir& dir) {
    const std::string dev = dir.file("null");
    if (::geteuid() != 0 || ::mknod(dev.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0) {
        WARN("not root (or mknod refused): the character-device case is skipped");
        return "";
    }
    return dev;
}

// Reads a FIFO to its end on another thread.
std::future<std::string> drain(const std::string& fifo) {
    return std::async(std::launch::async, [fifo] { return read_file(fifo); });
}

}  // namespace

TEST_CASE("An output to a new or a regular file is written whole, keeping the file's mode") {
    TempDir dir;
    const std::string path = dir.file("report.json");
    CHECK(output_target(path) == OutputTarget::replaced_whole);
    write_text(path, "first");
    CHECK(read_file(path) == "first");
    ::chmod(path.c_str(), 0600);
    write_text(path, "second");
    CHECK(read_file(path) == "second");
    CHECK((fs::status(path).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("A failed write leaves the old file as it was and no temporary beside it") {
    TempDir dir;
    const std::string path = dir.file("out.jsonl");
    write_text(path, "old");
    CHECK_THROWS(write_output(path, [](std::ostream&) { throw std::runtime_error("cut short"); }));
    CHECK(read_file(path) == "old");
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("An output through a symlink replaces the file it points to and keeps the link") {
    TempDir dir;
    write_text(dir.file("real.json"), "old");
    fs::create_symlink(dir.file("real.json"), dir.file("link.json"));
    write_text(dir.file("link.json"), "new");
    CHECK(fs::is_symlink(dir.file("link.json")));
    CHECK(read_file(dir.file("real.json")) == "new");
}

TEST_CASE("An output to a directory, or a symlink to one, is a one-line error") {
    TempDir dir;
    fs::create_directory(dir.file("reports"));
    fs::create_directory_symlink(dir.file("reports"), dir.file("link"));
    for (const auto& target : {dir.file("reports"), dir.file("link")}) {
        INFO(target);
        try {
            write_text(target, "x");
            FAIL("no error");
        } catch (const mastotape::schema::TapeError& e) {
            CHECK_THAT(e.what(), Catch::Contains("is a directory"));
        }
        CHECK(fs::is_directory(target));
    }
    CHECK(fs::is_empty(dir.file("reports")));
}

TEST_CASE("An output to a FIFO is written in place and the FIFO stays a FIFO") {
    TempDir dir;
    const std::string fifo = dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(output_target(fifo) == OutputTarget::written_in_place);
    auto got = drain(fifo);
    write_text(fifo, "through the pipe\n");
    CHECK(got.get() == "through the pipe\n");
    CHECK(fs::is_fifo(fifo));
}

TEST_CASE("An output to a character device is written in place and stays a device") {
    TempDir dir;
    const std::string dev = scratch_null_device(dir);
    if (dev.empty()) {
        return;
    }
    CHECK(output_target(dev) == OutputTarget::written_in_place);
    write_text(dev, "gone");
    CHECK(is_char_device(dev));
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("export -o, plot -o, replay --report, --junit and --port-file leave a device a device") {
    TempDir dir;
    const std::string dev = scratch_null_device(dir);
    if (dev.empty()) {
        return;
    }
    REQUIRE(run_mastotape("synth --events 5 -q", dir).exit_code == 0);
    CHECK(run_mastotape("export 1 -o null", dir).exit_code == 0);
    CHECK(run_mastotape("export 1 --format har -o null", dir).exit_code == 0);
    CHECK(run_mastotape("plot -o null --format svg", dir).exit_code == 0);
    CHECK(is_char_device(dev));

    Child replay({MASTOTAPE_BINARY, "replay", dir.file("mastotape.db"), "--max-speed",
                  "--exit-when-done", "--report", dev, "--junit", dev, "--port-file", dev},
                 dir.file("replay.out"));
    std::uint16_t port = 0;
    REQUIRE(mastotape::test::eventually([&] {
        const auto out = read_file(dir.file("replay.out"));
        const auto at = out.find("listening ws://127.0.0.1:");
        if (at == std::string::npos || out.find('\n', at) == std::string::npos) {
            return false;
        }
        port = static_cast<std::uint16_t>(std::stoi(out.substr(at + 25)));
        return true;
    }));
    RawWs ws(port, "stream=user");
    REQUIRE(ws.upgraded());
    ws.until_close();  // the whole tape, then the close answered
    ws.send_frame(8, "\x03\xe8");
    CHECK(replay.wait() == 0);
    CHECK(is_char_device(dev));
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        CHECK_THAT(entry.path().filename().string(), !Catch::Contains(".tmp-"));
    }
}

TEST_CASE("export -o a FIFO streams the session into it, and a FIFO is never opened as a tape") {
    TempDir dir;
    REQUIRE(run_mastotape("synth --events 5 -q", dir).exit_code == 0);
    const std::string expected = run_mastotape("export 1", dir).out;
    REQUIRE(!expected.empty());
    const std::string fifo = dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto got = drain(fifo);
    CHECK(run_mastotape("export 1 -o pipe", dir).exit_code == 0);
    CHECK(got.get() == expected);
    CHECK(fs::is_fifo(fifo));

    const auto as_tape = run_mastotape("sessions --db pipe", dir);
    CHECK(as_tape.exit_code != 0);
    CHECK_THAT(as_tape.err, Catch::Contains("not a regular file"));
    CHECK(fs::is_fifo(fifo));
}
