// Run-folder metrics (metrics.jsonl, one line a step) and the MFU yardstick; the progress
// line and the stopwatch are base/progress.h.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "arlt/base/progress.h"

namespace arlt::train {

using arlt::Progress;
using arlt::Stopwatch;

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

// The machine's fp32 matmul peak (FLOP/s), measured once with a large GEMM (~0.3 s); the MFU
// the trainers report is relative to it.
double measured_peak_flops();

}  // namespace arlt::train
