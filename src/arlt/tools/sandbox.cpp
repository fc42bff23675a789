#include "arlt/tools/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "arlt/base/error.h"

namespace arlt::tools {
namespace {

constexpr const char* kBwrap = "/usr/bin/bwrap";

// An in-memory file holding `content`, read from its start by bubblewrap's --ro-bind-data.
int memfd_with(const std::string& name, const std::string& content) {
  const int fd = memfd_create(name.c_str(), 0);
  if (fd < 0) throw runtime_failure("sandbox: memfd_create failed: " + std::string(std::strerror(errno)));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t w = write(fd, content.data() + done, content.size() - done);
    if (w <= 0) throw runtime_failure("sandbox: writing " + name + " failed");
    done += static_cast<size_t>(w);
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

std::vector<std::string> bwrap_args(const SandboxRun& run, const std::vector<int>& file_fds) {
  std::vector<std::string> a = {kBwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                                "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8",
                                "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--ro-bind", "/usr", "/usr"};
  // Debian's merged /usr: the top-level names are links into it.
  for (const char* link : {"bin", "lib", "lib64", "sbin"}) {
    const std::filesystem::path top = std::filesystem::path("/") / link;
    if (std::filesystem::is_symlink(top)) a.insert(a.end(), {"--symlink", std::filesystem::read_symlink(top).string(), top.string()});
  }
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp"});
  for (size_t i = 0; i < run.files.size(); ++i)
    a.insert(a.end(), {"--ro-bind-data", std::to_string(file_fds[i]), "/tmp/" + run.files[i].first});
  a.push_back("--");
  a.insert(a.end(), run.argv.begin(), run.argv.end());
  return a;
}

void set_limit(int what, int64_t value) {
  struct rlimit r;
  r.rlim_cur = r.rlim_max = static_cast<rlim_t>(value);
  setrlimit(what, &r);
}

// Reads what is there into `into` (up to `cap` bytes; the rest is read and dropped). False at EOF.
bool drain(int fd, std::string& into, int64_t cap, bool* cut) {
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  const size_t room = static_cast<size_t>(std::max<int64_t>(0, cap - static_cast<int64_t>(into.size())));
  into.append(buf, std::min(room, static_cast<size_t>(n)));
  if (static_cast<size_t>(n) > room) *cut = true;
  return true;
}

}  // namespace

bool sandbox_available() {
  static const bool ok = [] {
    if (access(kBwrap, X_OK) != 0) return false;
    SandboxRun r;
    r.argv = {"/usr/bin/true"};
    r.limits.wall_seconds = 10;
    try {
      return run_sandboxed(r).exit_code == 0;
    } catch (const Error&) {
      return false;
    }
  }();
  return ok;
}

SandboxResult run_sandboxed(const SandboxRun& run) {
  if (access(kBwrap, X_OK) != 0) throw runtime_failure("sandbox: " + std::string(kBwrap) + " not found (Debian package bubblewrap)");
  if (run.argv.empty()) throw Error("sandbox: nothing to run");
  std::vector<int> file_fds;
  for (const auto& [path, content] : run.files) file_fds.push_back(memfd_with(path, content));
  const std::vector<std::string> args = bwrap_args(run, file_fds);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw runtime_failure("sandbox: pipe failed");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw runtime_failure("sandbox: fork failed: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // The child: its own process group (so a timeout kills everything it started), the limits,
    // the pipes as its standard streams, then bubblewrap.
    setpgid(0, 0);
    set_limit(RLIMIT_CPU, run.limits.cpu_seconds);
    set_limit(RLIMIT_AS, run.limits.memory_bytes);
    set_limit(RLIMIT_FSIZE, run.limits.file_bytes);
    set_limit(RLIMIT_CORE, 0);
    dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
    std::vector<char*> argv;
    for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    execv(kBwrap, argv.data());
    _exit(127);
  }
  close(in[0]), close(out[1]), close(err[1]);
  for (int fd : file_fds) close(fd);
  SandboxResult res;
  // Standard input first (small by design: a task's stdin), then the output until both close.
  size_t written = 0;
  signal(SIGPIPE, SIG_IGN);
  while (written < run.stdin_text.size()) {
    const ssize_t w = write(in[1], run.stdin_text.data() + written, run.stdin_text.size() - written);
    if (w <= 0) break;
    written += static_cast<size_t>(w);
  }
  close(in[1]);
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int wait_ms = static_cast<int>(std::max(0.0, run.limits.wall_seconds - elapsed) * 1000) + 1;
    if (elapsed >= run.limits.wall_seconds) {
      res.timed_out = true;
      break;
    }
    struct pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    const int r = poll(p, 2, wait_ms);
    if (r < 0 && errno != EINTR) break;
    if (out_open && (p[0].revents & (POLLIN | POLLHUP))) out_open = drain(out[0], res.out, run.limits.output_bytes, &res.output_cut);
    if (err_open && (p[1].revents & (POLLIN | POLLHUP))) err_open = drain(err[0], res.err, run.limits.output_bytes, &res.output_cut);
  }
  if (res.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(out[0]), close(err[0]);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) res.signal = WTERMSIG(status);
  // bubblewrap, the namespace's init, reports a program killed by signal N as exit code 128 + N.
  if (res.exit_code > 128 && res.exit_code < 128 + 65) res.signal = res.exit_code - 128;
  return res;
}

}  // namespace arlt::tools
