#pragma once

// Shared test helpers: temporary directories, running the mastotape binary, reading files.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "schema/tape/model.hpp"

namespace mastotape::test {

// Tape times are in nanoseconds.
using schema::kMs;
inline constexpr std::int64_t kSec = 1'000'000'000;

// A fresh directory, removed with everything in it when the object goes.
class TempDir {
   public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "mastotape-test-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

   private:
    std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

struct RunResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs `mastotape ARGS` through the shell (args are passed verbatim) and captures its output.
inline RunResult run_mastotape(const std::string& args, const TempDir& dir) {
    const std::string out_file = dir.file(".stdout");
    const std::string err_file = dir.file(".stderr");
    const std::string cmd = std::string("cd '") + dir.path().string() + "' && '" +
                            MASTOTAPE_BINARY + "' " + args + " > '" + out_file + "' 2> '" +
                            err_file + "' < /dev/null";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out_file);
    r.err = read_file(err_file);
    return r;
}

// Runs `script` with bash in `dir`, its standard output and error together in `out`.
inline RunResult run_bash(const std::string& script, const TempDir& dir) {
    write_file(dir.file("script.sh"), script);
    const std::string out_file = dir.file("script.out");
    const int status = std::system(
        ("cd '" + dir.path().string() + "' && bash script.sh > '" + out_file + "' 2>&1 < /dev/null")
            .c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out_file);
    return r;
}

// A throwaway CA (DIR/ca.pem) and a server certificate it signed (DIR/server.pem, server.key)
// for the subject alternative names `san` ("DNS:localhost,IP:127.0.0.1"), made with the openssl
// command. Returns false when openssl failed.
inline bool make_test_certificates(const TempDir& dir, const std::string& san) {
    const std::string gen =
        "cd '" + dir.path().string() +
        "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.pem -days 2 -subj '/CN=mastotape test CA' 2>/dev/null"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
        "server.key -out server.csr -subj '/CN=localhost' 2>/dev/null"
        " && printf 'subjectAltName=" +
        san +
        "\\nbasicConstraints=CA:FALSE\\n' > ext.cnf"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
        "server.pem -days 2 -extfile ext.cnf 2>/dev/null";
    return std::system(gen.c_str()) == 0;
}

// Resident set size of this process in KiB (Linux /proc).
inline long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

inline std::string fixtures_dir() { return std::string(MASTOTAPE_SOURCE_DIR) + "/fixtures"; }

}  // namespace mastotape::test

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace mastotape::test {

// Sends `request` (raw HTTP) to 127.0.0.1:port and returns everything the server sends until it
// closes the connection or 2 s pass.
inline std::string raw_http(std::uint16_t port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return "";
    }
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::send(fd, request.data(), request.size(), 0);
    std::string out;
    char buf[4096];
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

inline std::string http_get(std::uint16_t port, const std::string& target,
                            const std::string& extra_headers = "") {
    return raw_http(port, "GET " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                              extra_headers + "\r\n");
}

// A POST with no body (the control API's actions).
inline std::string http_post(std::uint16_t port, const std::string& target,
                             const std::string& extra_headers = "") {
    return raw_http(port, "POST " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n" +
                              extra_headers + "\r\n");
}

}  // namespace mastotape::test

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

extern char** environ;

namespace mastotape::test {

// A child process with its stdout and stderr in files, for tests of signals and crashes.
class Child {
   public:
    Child(const std::vector<std::string>& args, const std::string& out_file,
          const std::vector<std::string>& env_extra = {}) {
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        std::vector<std::string> env_strings;
        for (char** e = environ; *e != nullptr; ++e) {
            env_strings.emplace_back(*e);
        }
        for (const auto& e : env_extra) {
            env_strings.push_back(e);
        }
        std::vector<char*> envp;
        for (auto& e : env_strings) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) {
            pid_ = -1;
        }
        posix_spawn_file_actions_destroy(&actions);
    }
    ~Child() {
        if (pid_ > 0 && !waited_) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    void signal(int sig) const { ::kill(pid_, sig); }
    // The exit code (or 128 + signal number) if the child ends within `seconds`; nullopt if not.
    std::optional<int> wait_for(double seconds) {
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(static_cast<long>(seconds * 1000));
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= until) {
                return std::nullopt;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        waited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    // The exit code, or 128 + signal number when killed.
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        waited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

   private:
    pid_t pid_ = -1;
    bool waited_ = false;
};

// Polls `done` every 20 ms for up to `seconds`; returns whether it became true.
template <typename F>
bool eventually(F&& done, double seconds = 20) {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
}

}  // namespace mastotape::test
