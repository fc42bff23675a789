// Splits work across the OpenMP threads torch and the BLAS use (one runtime, one pool). The count
// is the calling thread's OpenMP setting: the one torch's set_num_threads gave, on the threads
// where torch has applied it (lazily, at a thread's first parallel op). Use this, not
// at::parallel_for, in arlt_lib: that one's OpenMP path is an inline template behind
// #ifdef _OPENMP, and arlt_lib is not built with -fopenmp (its torch PCH would be built twice),
// so there it runs serially.
#pragma once
#include <cstdint>
#include <functional>

namespace arlt::kernels {

// f(b, e) over one contiguous chunk of [begin, end) per thread; serial when the range is at most
// `grain` items, or when called from inside a parallel region. The first exception is rethrown.
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

// f(b, e, own_end) over chunks of at most `chunk` items: each thread starts on its own
// contiguous share (own_end is where that share ends, for prefetching ahead) and, when done,
// takes the chunks still left in the other threads' shares. For work whose cost per item varies
// or whose threads run at different speeds (a shared vCPU): a static split waits for the
// slowest. Serial when there is one chunk or when called from inside a parallel region.
// prologue(t, T), when given, first runs on each of the T threads (t = 0 .. T-1; T = 1 when
// serial), and no chunk starts before every thread has finished it: work the chunks read, split
// between the threads, without a parallel region of its own.
void parallel_for_chunks(int64_t begin, int64_t end, int64_t chunk,
                         const std::function<void(int64_t, int64_t, int64_t)>& f,
                         const std::function<void(int64_t, int64_t)>& prologue = nullptr);

}  // namespace arlt::kernels
