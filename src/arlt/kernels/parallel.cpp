#include "arlt/kernels/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>

#include <omp.h>

namespace arlt::kernels {

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t threads = std::min<int64_t>(omp_get_max_threads(), (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (threads <= 1 || omp_in_parallel()) {
    f(begin, end);
    return;
  }
  std::exception_ptr error;
  std::atomic_flag failed = ATOMIC_FLAG_INIT;
  // No num_threads clause: GOMP rebuilds its pool when the count changes (torch avoids it too).
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), T = std::min<int64_t>(threads, omp_get_num_threads());
    const int64_t b = begin + n * t / T, e = begin + n * (t + 1) / T;
    if (t < T && b < e) {
      try {
        f(b, e);
      } catch (...) {
        if (!failed.test_and_set()) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace arlt::kernels
