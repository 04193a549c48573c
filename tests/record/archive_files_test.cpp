// The policy of a rotated archive: names, boundaries and what retention deletes.

#include "record/archive_files.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <fstream>

#include "tests/test_support.hpp"

using namespace mastotape::record;
using mastotape::test::TempDir;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

void make_file(const std::string& path, std::size_t bytes, std::time_t modified) {
    std::ofstream(path) << std::string(bytes, 'x');
    const struct timespec times[2] = {{modified, 0}, {modified, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

std::tm local_of(std::int64_t wall_ns) {
    const std::time_t t = static_cast<std::time_t>(wall_ns / kSecond);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return tm;
}

std::vector<std::string> names(const std::vector<ArchiveFile>& files) {
    std::vector<std::string> out;
    for (const auto& f : files) {
        out.push_back(std::filesystem::path(f.path).filename().string());
    }
    return out;
}

}  // namespace

TEST_CASE("Rotation reads hourly, daily and sizes with units, and refuses the rest") {
    CHECK(parse_rotation("hourly")->every == RotationPolicy::Every::hour);
    CHECK(parse_rotation("daily")->every == RotationPolicy::Every::day);
    CHECK(parse_rotation("1GiB")->bytes == std::int64_t{1} << 30);
    CHECK(parse_rotation("500MB")->bytes == 500'000'000);
    CHECK(parse_rotation("64kib")->bytes == 65536);
    CHECK(parse_rotation("100000")->bytes == 100000);
    for (const char* bad : {"", "weekly", "1TB", "GiB", "-1GiB", "1.5GiB", "1000"}) {
        INFO(bad);
        CHECK_FALSE(parse_rotation(bad).has_value());  // 1000 bytes: under 64 KiB
    }
    CHECK(parse_size("50GiB") == std::int64_t{50} << 30);
    CHECK_FALSE(parse_size("50 GiB").has_value());
}

TEST_CASE("A pattern names files in local time and numbers a name that exists") {
    TempDir dir;
    ArchiveFiles a(dir.file("%Y-%m-%d.db"), {RotationPolicy::Every::size, 1 << 20}, {});
    const std::int64_t t = std::int64_t{1796688000} * kSecond;
    const std::tm tm = local_of(t);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
    const std::string first = dir.file(std::string(day) + ".db");
    make_file(first, 1, 0);  // a recorder before this one made it
    CHECK(a.path_at(t) == dir.file(std::string(day) + ".1.db"));
    make_file(dir.file(std::string(day) + ".1.db"), 1, 0);
    CHECK(a.path_at(t) == dir.file(std::string(day) + ".2.db"));
    // Retention deleted the first two: their names are not given again.
    std::filesystem::remove(first);
    std::filesystem::remove(dir.file(std::string(day) + ".1.db"));
    CHECK(a.path_at(t) == dir.file(std::string(day) + ".3.db"));
    CHECK(ArchiveFiles(dir.file("%Y-%m-%d.db"), {}, {}).path_at(t) == first);
    CHECK(a.name_at(t) == first);  // without rotation: the tape to add a session to
    CHECK_THROWS_WITH(ArchiveFiles(dir.file("%Q.db"), {}, {}),
                      Catch::Contains("%Q is not a field it takes"));
}

TEST_CASE("Time rotation closes a file at the next local hour or midnight") {
    const std::int64_t t = std::int64_t{1796688123} * kSecond + 5;
    const ArchiveFiles hourly("a/%Y%m%d%H.db", {RotationPolicy::Every::hour, 0}, {});
    const auto h = hourly.boundary_after(t);
    REQUIRE(h.has_value());
    CHECK(*h > t);
    CHECK(*h - t <= 3600 * kSecond);
    CHECK(local_of(*h).tm_min == 0);
    CHECK(local_of(*h).tm_sec == 0);
    const ArchiveFiles daily("a/%F.db", {RotationPolicy::Every::day, 0}, {});
    const auto d = daily.boundary_after(t);
    REQUIRE(d.has_value());
    CHECK(*d > t);
    CHECK(*d - t <= 25 * 3600 * kSecond);
    CHECK(local_of(*d).tm_hour == 0);
    CHECK(local_of(*d).tm_min == 0);
    const ArchiveFiles by_size("a/%F.db", {RotationPolicy::Every::size, 1 << 20}, {});
    CHECK_FALSE(by_size.boundary_after(t).has_value());
    CHECK(by_size.size_due(1 << 20));
    CHECK_FALSE(by_size.size_due((1 << 20) - 1));
}

TEST_CASE("Retention deletes the oldest closed files of the archive, never the open one") {
    TempDir dir;
    const std::time_t now = 1796688000;
    // Four closed files a day apart, the open one, and files the pattern could not have named.
    make_file(dir.file("2026-12-01.db"), 100, now - 4 * 86400);
    make_file(dir.file("2026-12-02.db"), 100, now - 3 * 86400);
    make_file(dir.file("2026-12-02.1.db"), 100, now - 2 * 86400);
    make_file(dir.file("2026-12-03.db"), 100, now - 1 * 86400);
    make_file(dir.file("2026-12-04.db"), 100, now - 10 * 86400);  // open: oldest by mtime
    make_file(dir.file("notes.db"), 100, now - 9 * 86400);
    make_file(dir.file("2026-12-03.db-wal"), 100, now - 9 * 86400);
    make_file(dir.file("2026-12-03.db.compacted.partial-1"), 100, now - 9 * 86400);
    const std::vector<std::string> open{dir.file("2026-12-04.db")};
    const std::string pattern = dir.file("%Y-%m-%d.db");
    const RotationPolicy daily{RotationPolicy::Every::day, 0};

    CHECK(names(ArchiveFiles(pattern, daily, {}).files()) ==
          std::vector<std::string>{"2026-12-04.db", "2026-12-01.db", "2026-12-02.db",
                                   "2026-12-02.1.db", "2026-12-03.db"});
    CHECK(ArchiveFiles(pattern, daily, {}).expired(open, now * kSecond).empty());
    SECTION("by age") {
        const ArchiveFiles a(pattern, daily, {2.5, 0, 0});
        CHECK(names(a.expired(open, now * kSecond)) ==
              std::vector<std::string>{"2026-12-01.db", "2026-12-02.db"});
    }
    SECTION("by total size, the open file counted") {
        const ArchiveFiles a(pattern, daily, {0, 300, 0});
        CHECK(names(a.expired(open, now * kSecond)) ==
              std::vector<std::string>{"2026-12-01.db", "2026-12-02.db"});
    }
    SECTION("by count of closed files") {
        const ArchiveFiles a(pattern, daily, {0, 0, 1});
        CHECK(names(a.expired(open, now * kSecond)) ==
              std::vector<std::string>{"2026-12-01.db", "2026-12-02.db", "2026-12-02.1.db"});
    }
}

TEST_CASE("Files in dated folders are found from the pattern's fixed folder") {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "arch" / "2026" / "12");
    make_file(dir.file("arch/2026/12/07.db"), 10, 1000);
    make_file(dir.file("arch/2026/12/07.1.db"), 10, 2000);
    make_file(dir.file("arch/2026/12/x.db"), 10, 3000);
    const ArchiveFiles a(dir.file("arch/%Y/%m/%d.db"), {RotationPolicy::Every::hour, 0}, {});
    CHECK(names(a.files()) == std::vector<std::string>{"07.db", "07.1.db"});
    CHECK(relative_to_folder_of("arch/2026/12/31.db", "arch/2027/01/01.db") ==
          "../../2027/01/01.db");
    CHECK(relative_to_folder_of("arch/07.db", "arch/07.1.db") == "07.1.db");
    CHECK(relative_to_folder_of("07.db", "07.1.db") == "07.1.db");
}
