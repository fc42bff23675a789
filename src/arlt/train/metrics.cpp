#include "arlt/train/metrics.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"

namespace arlt::train {

namespace {
nlohmann::ordered_json finite_only(const nlohmann::ordered_json& j) {
  if (j.is_number_float()) return std::isfinite(j.get<double>()) ? j : nlohmann::ordered_json(nullptr);
  if (j.is_object()) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (auto it = j.begin(); it != j.end(); ++it) o[it.key()] = finite_only(it.value());
    return o;
  }
  return j;
}
}  // namespace

MetricsLog::MetricsLog(const std::string& path, int64_t keep_through_step) : path_(path) {
  std::string kept;
  if (keep_through_step >= 0 && std::filesystem::exists(path)) {
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("step") && j["step"].is_number() && j["step"].get<int64_t>() <= keep_through_step)
        kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
}

void MetricsLog::write(const nlohmann::ordered_json& line) {
  std::ofstream out(path_, std::ios::app);
  if (!out) throw runtime_failure("cannot append to " + path_);
  out << finite_only(line).dump() << "\n";
}

double measured_peak_flops() {
  static double peak = [] {
    torch::NoGradGuard ng;
    const int64_t n = 1024;
    auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
    torch::mm_out(c, a, b);  // warm-up
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
      Stopwatch sw;
      for (int i = 0; i < 2; ++i) torch::mm_out(c, a, b);
      best = std::max(best, 2.0 * 2.0 * n * n * n / sw.seconds());
    }
    return best;
  }();
  return peak;
}

}  // namespace arlt::train
