#include "arlt/base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace arlt {

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

}  // namespace arlt
