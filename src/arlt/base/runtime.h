// Process start-up: thread count, BLAS check, allocator tuning. Call init_runtime() once
// at the start of main (the CLI, tests and benchmarks do).
#pragma once
#include <string>

namespace arlt {

struct RuntimeInfo {
  int threads = 1;
  std::string blas;       // "OpenBLAS ..." or "unknown (reference BLAS?)"
  bool blas_is_openblas = false;
};

// Sets torch's intra-op threads from the hardware (ARLT_THREADS overrides), turns off glibc's
// mmap for large blocks and raises its trim threshold so large temporaries are reused instead
// of mmap/munmap'd per op (ARLT_MALLOC=system opts out),
// and warns loudly when the BLAS in use is not OpenBLAS. Idempotent.
const RuntimeInfo& init_runtime();

// The BLAS library torch's matmuls end up in, detected from the loaded symbols.
std::string detect_blas(bool* is_openblas = nullptr);

}  // namespace arlt
