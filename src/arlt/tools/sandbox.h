// Runs a program inside bubblewrap: no network (every namespace unshared), a read-only /usr and
// nothing else of the host (no project, no /root, no /home, no /etc), a private /tmp, limits on
// CPU time, wall time, address space, file size and output size. The sandboxed program's own
// failures are in the result; only a sandbox that cannot start throws.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace arlt::tools {

struct SandboxLimits {
  double wall_seconds = 10.0;                // killed after this (the whole process tree)
  int64_t cpu_seconds = 11;                  // RLIMIT_CPU: past the wall limit, so that the wall limit decides
  int64_t memory_bytes = int64_t{1} << 30;   // RLIMIT_AS
  int64_t file_bytes = int64_t{16} << 20;    // RLIMIT_FSIZE: the largest file it may write in /tmp
  int64_t output_bytes = int64_t{1} << 20;   // stdout and stderr each keep at most this much
};

struct SandboxResult {
  std::string out, err;  // what it wrote, each cut at output_bytes
  int exit_code = -1;    // -1 when killed by a signal
  int signal = 0;        // the signal that ended the program (bubblewrap's exit code 128 + N is read as N)
  bool timed_out = false, output_cut = false;
  double seconds = 0;
};

struct SandboxRun {
  std::vector<std::string> argv;                          // run inside, e.g. {"/usr/bin/python3", "main.py"}
  std::vector<std::pair<std::string, std::string>> files;  // (path under /tmp, content) placed read-only
  std::string stdin_text;
  SandboxLimits limits;
};

// Throws arlt::Error (exit code 1) when bubblewrap is missing or cannot start.
SandboxResult run_sandboxed(const SandboxRun& run);

// Whether bubblewrap can create its namespaces here (tests skip the sandbox where it cannot).
bool sandbox_available();

}  // namespace arlt::tools
