// y = x W^T (+ b) in fp32 straight from the weight as the model holds it ([N, K], row-major,
// the layout torch::nn::Linear and the Hugging Face files use): no packed copy, so the engine
// decodes on the very tensors the optimizer updates. Made for the engine's decode step, where x
// has few rows (one per running sequence) and the BLAS spends much of its time packing.
#pragma once
#include <cstdint>

namespace arlt::kernels {

struct LinearArgs {
  const float* x = nullptr;     // [M, K], rows ldx apart
  const float* w = nullptr;     // [N, K], rows K apart (contiguous)
  const float* bias = nullptr;  // [N] or null
  float* y = nullptr;           // [M, N], rows ldy apart
  // Optional second weight (same shape as w) for a fused gated MLP: y = silu(x W^T + b) *
  // (x W2^T + b2), the two products of one column block computed back to back.
  const float* w2 = nullptr;
  const float* bias2 = nullptr;
  // Optional x transposed by transpose_rows ([K, ldxt], ldxt = M rounded up to 16): the kernel
  // then broadcasts W against 16 rows at a time instead of taking dot products (see
  // linear_prefers_broadcast).
  const float* xt = nullptr;
  int64_t ldxt = 0;
  // Optional, with xt only: write y transposed instead of y, yt[n * ldyt + m] for m < M and 0
  // for M <= m < ldyt (ldyt a multiple of 16, at least M): the xt of a next layer that takes
  // this output as its input, without transposing it (the fused MLP's down projection).
  float* yt = nullptr;
  int64_t ldyt = 0;
  int64_t M = 0, K = 0, N = 0, ldx = 0, ldy = 0;
};

// True where this CPU runs the kernel (x86-64 with AVX-512F); elsewhere callers use the BLAS.
bool linear_available();

// Computes the output columns [n_begin, n_end) for every row. Column ranges are independent:
// callers split [0, N) across threads (in chunks of linear_chunk(a, threads) for speed).
// prefetch_end (at least n_end, at most N): where the caller's next columns end, so the dot form
// may prefetch W's rows past n_end up to there (the next chunk of a parallel_for_chunks share);
// the broadcast form prefetches a tile ahead on its own.
void linear(const LinearArgs& a, int64_t n_begin, int64_t n_end, int64_t prefetch_end = -1);
// The chunk of columns to split [0, N) into for `threads` threads (parallel_for_chunks): the
// dot form's block; in the broadcast form 96, 64 or 48 columns, whichever leaves the most loaded
// thread the fewest columns to compute, counted in whole 6-column tiles (N = 512 in chunks of
// 96 gives one thread 288 and the other 228; in chunks of 64, 264 each).
int64_t linear_chunk(const LinearArgs& a, int64_t threads);

// Whether the broadcast form (LinearArgs::xt) is the faster one for this shape (bench/linear).
bool linear_prefers_broadcast(int64_t M, int64_t K, int64_t N);

// xt[k][m] = x[m][k] for m < M, 0 for M <= m < ldxt (ldxt a multiple of 16).
void transpose_rows(const float* x, int64_t M, int64_t K, int64_t ldx, float* xt, int64_t ldxt);

}  // namespace arlt::kernels
