#include "record/archive_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <system_error>

namespace mastotape::record {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMinRotationBytes = std::int64_t{64} * 1024;
constexpr std::string_view kPreparedPrefix = ".mastotape-next-";

// What each strftime field the pattern may hold matches in a name.
std::optional<std::string> field_regex(char field) {
    switch (field) {
        case 'Y':
            return "[0-9]{4}";
        case 'y':
        case 'm':
        case 'd':
        case 'H':
        case 'M':
        case 'S':
            return "[0-9]{2}";
        case 'j':
            return "[0-9]{3}";
        case 'F':
            return "[0-9]{4}-[0-9]{2}-[0-9]{2}";
        case 's':
            return "[0-9]+";
        case '%':
            return "%";
        default:
            return std::nullopt;
    }
}

std::string regex_escaped(char c) {
    static const std::string kSpecial = R"(\^$.|?*+()[]{})";
    return kSpecial.find(c) == std::string::npos ? std::string(1, c) : std::string("\\") + c;
}

// Where the sequence number goes in a name: before its extension (the last '.' of its last
// component that is not its first character), else at its end.
std::size_t sequence_at(const std::string& name) {
    const std::size_t slash = name.rfind('/');
    const std::size_t start = slash == std::string::npos ? 0 : slash + 1;
    const std::size_t dot = name.rfind('.');
    return dot != std::string::npos && dot > start ? dot : name.size();
}

std::int64_t wall_ns_of(std::time_t t) { return static_cast<std::int64_t>(t) * 1'000'000'000; }

std::int64_t modified_ns(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::optional<std::int64_t> parse_size(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0) {
        ++digits;
    }
    if (digits == 0 || digits > 15) {
        return std::nullopt;
    }
    const std::int64_t n = std::stoll(std::string(text.substr(0, digits)));
    std::string unit(text.substr(digits));
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::vector<std::pair<std::string, std::int64_t>> kUnits{
        {"", 1},
        {"b", 1},
        {"kb", 1000},
        {"mb", 1000 * 1000},
        {"gb", 1000 * 1000 * 1000},
        {"kib", 1024},
        {"mib", 1024 * 1024},
        {"gib", std::int64_t{1024} * 1024 * 1024}};
    for (const auto& [name, scale] : kUnits) {
        if (unit == name) {
            return n * scale;
        }
    }
    return std::nullopt;
}

std::optional<RotationPolicy> parse_rotation(std::string_view text) {
    if (text == "hourly") {
        return RotationPolicy{RotationPolicy::Every::hour, 0};
    }
    if (text == "daily") {
        return RotationPolicy{RotationPolicy::Every::day, 0};
    }
    const auto bytes = parse_size(text);
    if (!bytes || *bytes < kMinRotationBytes) {
        return std::nullopt;
    }
    return RotationPolicy{RotationPolicy::Every::size, *bytes};
}

ArchiveFiles::ArchiveFiles(std::string pattern, RotationPolicy rotation, RetentionPolicy retention)
    : pattern_(std::move(pattern)), rotation_(rotation), retention_(retention) {
    // The leading folders without a field are where the archive's files are looked for.
    const std::size_t first_field = pattern_.find('%');
    const std::size_t root_end =
        first_field == std::string::npos ? pattern_.rfind('/') : pattern_.rfind('/', first_field);
    root_ = root_end == std::string::npos ? "." : pattern_.substr(0, root_end);
    if (root_.empty()) {
        root_ = "/";
    }
    const std::string rest =
        root_end == std::string::npos ? pattern_ : pattern_.substr(root_end + 1);
    const std::size_t seq = sequence_at(rest);
    std::string re;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (i == seq) {
            re += R"((\.[0-9]+)?)";
        }
        if (rest[i] != '%') {
            re += regex_escaped(rest[i]);
            continue;
        }
        const auto field = i + 1 < rest.size() ? field_regex(rest[i + 1]) : std::nullopt;
        if (!field) {
            throw std::invalid_argument("--db " + pattern_ + ": " +
                                        (i + 1 < rest.size() ? "%" + std::string(1, rest[i + 1]) +
                                                                   " is not a field it takes"
                                                             : std::string("ends with a lone %")) +
                                        " (it takes %Y %y %m %d %H %M %S %j %F %s and %%)");
        }
        re += *field;
        ++i;
    }
    if (seq == rest.size()) {
        re += R"((\.[0-9]+)?)";
    }
    name_regex_ = re;
}

std::string ArchiveFiles::name_at(std::int64_t wall_ns) const {
    const std::time_t t = static_cast<std::time_t>(wall_ns / 1'000'000'000);
    std::tm local{};
    ::localtime_r(&t, &local);
    std::string name(pattern_.size() + 64, '\0');
    const std::size_t n = std::strftime(name.data(), name.size(), pattern_.c_str(), &local);
    name.resize(n);
    return name;
}

std::string ArchiveFiles::path_at(std::int64_t wall_ns) {
    const std::string name = name_at(wall_ns);
    const std::size_t at = sequence_at(name);
    const int after = name == last_name_ ? last_sequence_ : -1;
    std::error_code ec;
    for (int k = after + 1;; ++k) {
        std::string path =
            k == 0 ? name : name.substr(0, at) + "." + std::to_string(k) + name.substr(at);
        if (!fs::exists(path, ec)) {
            last_name_ = name;
            last_sequence_ = k;
            return path;
        }
    }
}

std::string ArchiveFiles::prepared_path() const {
    return (fs::path(root_) / (std::string(kPreparedPrefix) + std::to_string(::getpid()) + ".db"))
        .string();
}

std::optional<std::int64_t> ArchiveFiles::boundary_after(std::int64_t wall_ns) const {
    if (rotation_.every != RotationPolicy::Every::hour &&
        rotation_.every != RotationPolicy::Every::day) {
        return std::nullopt;
    }
    const std::time_t t = static_cast<std::time_t>(wall_ns / 1'000'000'000);
    std::tm local{};
    ::localtime_r(&t, &local);
    local.tm_min = 0;
    local.tm_sec = 0;
    if (rotation_.every == RotationPolicy::Every::hour) {
        ++local.tm_hour;
    } else {
        local.tm_hour = 0;
        ++local.tm_mday;
    }
    local.tm_isdst = -1;  // mktime works out whether the boundary is in summer time
    return wall_ns_of(std::mktime(&local));
}

std::vector<ArchiveFile> ArchiveFiles::files() const {
    std::vector<ArchiveFile> out;
    std::error_code ec;
    const std::regex re(name_regex_);
    for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) {
            continue;
        }
        const std::string relative = it->path().lexically_relative(root_).generic_string();
        if (!std::regex_match(relative, re)) {
            continue;
        }
        const auto size = it->file_size(ec);
        out.push_back({it->path().string(), ec ? 0 : static_cast<std::int64_t>(size),
                       modified_ns(it->path())});
    }
    std::sort(out.begin(), out.end(), [](const ArchiveFile& a, const ArchiveFile& b) {
        return a.modified_wall_ns != b.modified_wall_ns ? a.modified_wall_ns < b.modified_wall_ns
                                                        : a.path < b.path;
    });
    return out;
}

std::vector<ArchiveFile> ArchiveFiles::expired(const std::vector<std::string>& open,
                                               std::int64_t now_wall_ns) const {
    std::vector<ArchiveFile> out;
    if (!retention_.retains()) {
        return out;
    }
    std::error_code ec;
    const auto is_open = [&](const ArchiveFile& f) {
        return std::any_of(open.begin(), open.end(), [&](const std::string& o) {
            return f.path == o || fs::equivalent(f.path, o, ec);
        });
    };
    const auto all = files();
    std::int64_t total = 0;
    std::int64_t closed = 0;
    for (const auto& f : all) {
        total += f.bytes;
        closed += is_open(f) ? 0 : 1;
    }
    const auto max_age_ns = static_cast<std::int64_t>(retention_.days * 86400e9);
    for (const auto& f : all) {  // oldest first
        if (is_open(f)) {
            continue;
        }
        const bool too_old = retention_.days > 0 && now_wall_ns - f.modified_wall_ns > max_age_ns;
        const bool too_big = retention_.bytes > 0 && total > retention_.bytes;
        const bool too_many = retention_.files > 0 && closed > retention_.files;
        if (too_old || too_big || too_many) {
            out.push_back(f);
            total -= f.bytes;
            --closed;
        }
    }
    return out;
}

std::string relative_to_folder_of(const std::string& from, const std::string& to) {
    const fs::path folder = fs::path(from).parent_path();
    const fs::path rel = fs::path(to).lexically_relative(folder.empty() ? "." : folder);
    return rel.empty() ? to : rel.generic_string();
}

}  // namespace mastotape::record
