#include "arlt/base/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <cstdlib>
#include <mutex>
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
    // glibc's dynamic mmap threshold turns every large temporary into an mmap/munmap pair
    // (page faults on each op); fixed thresholds keep freed memory in the heap for reuse.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);

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
