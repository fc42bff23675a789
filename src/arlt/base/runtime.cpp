#include "arlt/base/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <cstdlib>
#include <mutex>
#include <limits>
#include <thread>

#include "arlt/base/log.h"

namespace arlt {

std::string detect_blas(bool* is_openblas) {
  // libtorch calls the system BLAS through the libblas.so.3 alternative; OpenBLAS, when it
  // is the one loaded, exports openblas_get_config.
  using get_config_fn = const char* (*)();
  auto fn = reinterpret_cast<get_config_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (is_openblas) *is_openblas = fn != nullptr;
  if (fn) return std::string("OpenBLAS ") + fn();
  return "unknown (not OpenBLAS; probably the reference BLAS, about 10x slower)";
}

const RuntimeInfo& init_runtime() {
  static RuntimeInfo info;
  static std::once_flag once;
  std::call_once(once, [] {
    // glibc serves large blocks with mmap and returns them with munmap, so every large
    // temporary (a [rows, vocab] logits tensor, an activation) costs fresh zeroed pages: page
    // faults were 18% of an RL step on the small model. No mmap (M_MMAP_MAX 0; the threshold
    // cannot exceed 32 MB) and a 2 GB trim threshold keep freed memory in the heap for the next
    // step. The cost: memory freed is not returned to the system while the process runs.
    // ARLT_MALLOC=system keeps glibc's defaults.
    const char* malloc_env = std::getenv("ARLT_MALLOC");
    if (!malloc_env || std::string(malloc_env) != "system") {
      mallopt(M_MMAP_MAX, 0);
      mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
      mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    }

    int threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
    if (const char* env = std::getenv("ARLT_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end && *end == '\0' && v > 0 && v <= 4096) {
        threads = static_cast<int>(v);
      } else {
        log_warn("ARLT_THREADS='", env, "' is not a positive integer; using ", threads, " threads");
      }
    }
    torch::set_num_threads(threads);
    info.threads = threads;
    info.blas = detect_blas(&info.blas_is_openblas);
    if (!info.blas_is_openblas) {
      log_warn("*** BLAS is ", info.blas,
               ". Install libopenblas0-openmp (scripts/setup.sh does) for usable speed. ***");
    }
  });
  return info;
}

}  // namespace arlt
