// Helpers shared by the benchmark programs: run a reference command, read its JSON line, name the CPU.
#pragma once
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace arlt::bench {

// Environment prefix that gives a Python reference the glibc malloc settings arlt's
// init_runtime() applies (no mmap for large blocks, 2 GB trim threshold, 64 MB top pad), to
// separate what the allocator gives from what the implementation gives.
inline const char* kArltMallocEnv =
    "GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:glibc.malloc.top_pad=67108864 ";

// stdout of a shell command.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The last JSON object a reference printed (null when there is none).
inline nlohmann::json last_json(const std::string& out) {
  auto pos = out.rfind('{');
  if (pos == std::string::npos) return nullptr;
  try {
    return nlohmann::json::parse(out.substr(pos));
  } catch (...) {
    return nullptr;
  }
}

inline std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

}  // namespace arlt::bench
