// The terminal progress line of the trainers and a stopwatch for phase timings.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace arlt {

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

}  // namespace arlt
