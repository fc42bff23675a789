// Run-folder metrics (metrics.jsonl, one line a step) and the terminal progress line.
#pragma once
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace arlt::train {

// Appends one JSON object per line; NaN and Inf are written as null (JSON has neither).
class MetricsLog {
 public:
  // On resume, lines of steps after `keep_through_step` are dropped first (they belong to the
  // part of the run that is being redone); -1 starts a fresh file.
  MetricsLog(const std::string& path, int64_t keep_through_step);
  void write(const nlohmann::ordered_json& line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One line on stderr: rewritten in place on a terminal, printed every `every` steps otherwise.
class Progress {
 public:
  Progress(int64_t total, int64_t every = 10);
  void update(int64_t step, const std::string& text);
  void finish();

 private:
  int64_t total_, every_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

class Stopwatch {
 public:
  Stopwatch() : t_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_).count(); }
  double lap() {
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - t_).count();
    t_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point t_;
};

// The machine's fp32 matmul peak (FLOP/s), measured once with a large GEMM (~0.3 s); the MFU
// the trainers report is relative to it.
double measured_peak_flops();

}  // namespace arlt::train
