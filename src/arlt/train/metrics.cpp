#include "arlt/train/metrics.h"

#include <torch/torch.h>
#include <unistd.h>

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

Progress::Progress(int64_t total, int64_t every)
    : total_(total), every_(std::max<int64_t>(1, every)), tty_(::isatty(2)), start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, const std::string& text) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int width = 20;
  const int filled = total_ > 0 ? static_cast<int>(width * std::min<int64_t>(step, total_) / total_) : 0;
  std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  char head[96];
  std::snprintf(head, sizeof head, "%s %lld/%lld %5.0fs ", bar.c_str(), (long long)step, (long long)total_, secs);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", head, text.c_str());
  } else if (step % every_ == 0 || step == total_ || step == 1) {
    std::fprintf(stderr, "%s%s\n", head, text.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_) std::fprintf(stderr, "\n");
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
