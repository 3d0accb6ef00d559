// Helpers for tests that run real processes on loopback: a child process with
// captured output, stopped by its pid; a free loopback port; a plain HTTP GET
// with a bounded wait; a temporary directory.
#pragma once

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace rros::test {

using namespace std::chrono_literals;

inline bool file_exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

/// The arguments a test runs the program with: a node keeps its books in
/// memory unless the test names a data directory, as a flag or as the key
/// data_dir of the --config file (tests share working directories, and a
/// data directory is locked by one node).
inline std::vector<std::string>
node_args_for_test(std::vector<std::string> args) {
  if (args.empty() || args[0] != "node")
    return args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--data-dir" || arg == "--no-persist" ||
        arg.rfind("--data-dir=", 0) == 0)
      return args;
    struct stat info;
    if (arg == "--config" && i + 1 < args.size() &&
        ::stat(args[i + 1].c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      std::ifstream file{args[i + 1]};
      std::string text{std::istreambuf_iterator<char>{file}, {}};
      if (text.find("\"data_dir\"") != std::string::npos)
        return args;
    }
  }
  args.push_back("--no-persist");
  return args;
}

/// The directory of the running test program.
inline std::string test_binary_dir() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  std::string self(buf, static_cast<std::size_t>(n));
  return self.substr(0, self.rfind('/'));
}

/// A fresh directory under /tmp.
inline std::string make_temp_dir(const char* prefix = "rros-test") {
  std::string templ = std::string{"/tmp/"} + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  auto dir = ::mkdtemp(buf.data());
  return dir ? dir : "/tmp";
}

/// The first of `candidates` that exists, else "".
inline std::string find_executable(const std::vector<std::string>& candidates) {
  for (const auto& path : candidates)
    if (::access(path.c_str(), X_OK) == 0)
      return path;
  return {};
}

/// A loopback port nobody listens on (bound, read, closed).
inline std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct HttpReply {
  int status = 0; // 0: no answer
  std::string body;
};

/// GET http://127.0.0.1:port/target (HTTP/1.0, so the server closes after
/// the reply); gives up after `timeout`.
inline HttpReply http_get(std::uint16_t port, const std::string& target,
                          std::chrono::milliseconds timeout = 5s) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  timeval tv{};
  tv.tv_sec = static_cast<long>(timeout.count() / 1000);
  tv.tv_usec = static_cast<long>(timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  auto request = "GET " + target +
                 " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return reply;
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || head_end == std::string::npos)
    return reply;
  auto space = raw.find(' ');
  reply.status = std::atoi(raw.c_str() + space + 1);
  reply.body = raw.substr(head_end + 4);
  return reply;
}

/// A child process with stdout and stderr captured (stdin from /dev/null or
/// a file), killed by its pid when the object goes away.
class ChildProcess {
public:
  ChildProcess(const std::string& executable,
               const std::vector<std::string>& args,
               const std::string& cwd = {},
               const std::string& stdin_path = {}) {
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      auto input = stdin_path.empty() ? "/dev/null" : stdin_path.c_str();
      int in = ::open(input, O_RDONLY);
      if (in >= 0)
        ::dup2(in, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
        ::_exit(127);
      std::vector<std::string> copy = node_args_for_test(args);
      std::string program = executable;
      std::vector<char*> argv;
      argv.push_back(program.data());
      for (auto& arg : copy)
        argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ~ChildProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0)
      ::close(out_fd_);
    if (err_fd_ >= 0)
      ::close(err_fd_);
  }

  bool started() const {
    return pid_ > 0;
  }

  /// Reads what is there, waiting at most `wait`.
  void pump(std::chrono::milliseconds wait) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0)
      return;
    drain(out_fd_, out);
    drain(err_fd_, err);
  }

  /// Waits until `pred()` holds, reading output meanwhile; false on timeout
  /// or when the process ended first.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= until || exited())
        return pred();
      pump(50ms);
    }
    return true;
  }

  /// True once the process has ended (reaps it).
  bool exited() {
    if (exit_code_)
      return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      for (int i = 0; i < 5; ++i)
        pump(1ms);
      return true;
    }
    return false;
  }

  /// Waits for the exit (reading output meanwhile); kills after `timeout`
  /// and returns nothing then.
  std::optional<int> finish(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!exited()) {
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exit_code_ = -1;
        return std::nullopt;
      }
      pump(20ms);
    }
    return exit_code_;
  }

  void signal(int sig) {
    if (pid_ > 0 && !exit_code_)
      ::kill(pid_, sig);
  }

  std::string out, err;

private:
  static void drain(int fd, std::string& into) {
    char buf[65536];
    for (;;) {
      auto n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        return;
      into.append(buf, static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::optional<int> exit_code_;
};

} // namespace rros::test
