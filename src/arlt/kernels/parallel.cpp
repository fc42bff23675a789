#include "arlt/kernels/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <vector>

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

void parallel_for_chunks(int64_t begin, int64_t end, int64_t chunk,
                         const std::function<void(int64_t, int64_t, int64_t)>& f,
                         const std::function<void(int64_t, int64_t)>& prologue) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  chunk = std::max<int64_t>(chunk, 1);
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int64_t threads = std::min<int64_t>(omp_get_max_threads(), chunks);
  if (threads <= 1 || omp_in_parallel()) {
    if (prologue) prologue(0, 1);
    for (int64_t b = begin; b < end; b += chunk) f(b, std::min(end, b + chunk), end);
    return;
  }
  // Thread t's share is chunks [t * chunks / T, (t + 1) * chunks / T); next[t] is its next
  // unclaimed chunk, claimed by whoever increments it first (the owner, or a thread that is done).
  struct alignas(64) Next {
    std::atomic<int64_t> v;
  };
  std::vector<Next> next(static_cast<size_t>(threads));
  for (int64_t t = 0; t < threads; ++t) next[t].v = t * chunks / threads;
  std::exception_ptr error;
  std::atomic_flag failed = ATOMIC_FLAG_INIT;
  std::atomic<bool> stop{false};
#pragma omp parallel
  {
    // Every share is visited by every thread (its own first), so shares whose thread the runtime
    // did not start are still done.
    const int64_t me = omp_get_thread_num();
    if (prologue) {
      const int64_t team = std::min<int64_t>(threads, omp_get_num_threads());  // fewer than asked, at worst
      if (me < team) {
        try {
          prologue(me, team);
        } catch (...) {
          if (!failed.test_and_set()) error = std::current_exception();
          stop = true;
        }
      }
#pragma omp barrier
    }
    if (me < threads) {
      for (int64_t k = 0; k < threads && !stop; ++k) {
        const int64_t t = (me + k) % threads, last = (t + 1) * chunks / threads;
        const int64_t own_end = std::min(end, begin + last * chunk);
        for (int64_t c; !stop && (c = next[t].v.fetch_add(1)) < last;) {
          try {
            f(begin + c * chunk, std::min(end, begin + (c + 1) * chunk), own_end);
          } catch (...) {
            if (!failed.test_and_set()) error = std::current_exception();
            stop = true;
          }
        }
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace arlt::kernels
