#include "arlt/kernels/linear.h"
#include "arlt/kernels/vec_math.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace arlt::kernels {

// The kernel is a register tile of kMR rows of x by kNR rows of W: kMR * kNR accumulators, each
// holding 16 partial sums of one dot product along K, reduced at the end. Per 16 values of K it
// loads kMR + kNR vectors for kMR * kNR fused multiply-adds. Loop order (run() below): blocks of
// kNB columns, K in chunks of kKC, row tiles of x, column tiles of W. A row tile of x stays in L1
// while the block's W tiles go past it from L2; W comes from memory once, its next block
// prefetched into L2 and its next tile into L1. Edge tiles repeat a valid row and drop its
// result, so one instantiation serves all shapes. bench/linear measures it against the BLAS.
namespace {
constexpr int64_t kDotBlock = 64;        // each form's column block (kNB, kBNB below)
constexpr int64_t kBroadcastBlock = 96;
constexpr int kMR = 6;  // 6 x 4 measured best on the decode shapes (3 x 8, 2 x 12, 4 x 4 were slower)
constexpr int kNR = 4;
constexpr int kBMV = 4, kBNR = 6;  // the broadcast form's tile: 4 vectors of 16 rows by 6 columns
}  // namespace

// Measured with bench/linear (2026-12-03, Xeon VM, evening): with its accumulators held over all
// of K, the broadcast form beats the dot form from 16 rows on (64 rows: 256 vs 227 GFLOP/s at
// 512 x 1408, 270 vs 228 on the 32k LM head, 205 vs 193 at 512 x 512); below 16 rows a vector
// of 16 rows is mostly padding, and on narrow outputs (N = 128: 122 vs 181) its 96-column blocks
// cannot be shared out evenly between the threads.
bool linear_prefers_broadcast(int64_t M, int64_t K, int64_t N) { return M >= 16 && N >= 384 && K >= 16; }
int64_t linear_chunk(const LinearArgs& a, int64_t threads) {
  if (!a.xt) return kDotBlock;
  // The columns (whole tiles of kBNR) the most loaded thread computes when parallel_for_chunks
  // gives thread t the chunks [t C / T, (t + 1) C / T).
  const int64_t T = std::max<int64_t>(threads, 1);
  const auto slowest = [&](int64_t c) {
    const int64_t C = (a.N + c - 1) / c;
    int64_t worst = 0;
    for (int64_t t = 0; t < T; ++t) {
      int64_t cols = 0;
      for (int64_t i = t * C / T; i < (t + 1) * C / T; ++i) cols += (std::min(a.N, (i + 1) * c) - i * c + kBNR - 1) / kBNR * kBNR;
      worst = std::max(worst, cols);
    }
    return worst;
  };
  int64_t best = kBroadcastBlock, best_cols = slowest(kBroadcastBlock);
  for (int64_t c : {64, 48}) {  // multiples of 16: chunks start on whole cache lines of y
    const int64_t cols = slowest(c);
    if (cols * 50 < best_cols * 49) best = c, best_cols = cols;  // only for 2% or more
  }
  return best;
}

#if defined(__x86_64__)

bool linear_available() { return has_avx512f(); }

// Everything below is compiled for AVX-512F and runs only where linear_available() holds.
#pragma GCC push_options
#pragma GCC target("avx512f")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own intrinsics (the undefined upper half of a cast)
namespace {

// Lanes (128 bits) of x and y pairwise: [x0+x2, x1+x3, y0+y2, y1+y3].
inline __m512 lane_pairs(__m512 x, __m512 y) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 2, 3, 2)));
}
// From lane_pairs of (a0, a1) and of (a2, a3): lane k holds four partial sums of a_k.
inline __m512 lane_quads(__m512 x, __m512 y) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1)));
}
// The sums of eight vectors, [sum a0, ..., sum a7], by a tree that lets each add combine two
// of them: 16 shuffles and 8 adds (the two 4-way reductions with hadd it replaces took 22 and
// 16; a tile's reduction competes with its multiply-adds for the same port).
inline __m256 hsum8(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5, __m512 a6, __m512 a7) {
  const __m512 t0 = lane_quads(lane_pairs(a0, a1), lane_pairs(a2, a3)), t1 = lane_quads(lane_pairs(a4, a5), lane_pairs(a6, a7));
  const __m512 u = _mm512_add_ps(_mm512_unpacklo_ps(t0, t1), _mm512_unpackhi_ps(t0, t1));
  const __m512 w = _mm512_add_ps(u, _mm512_shuffle_ps(u, u, _MM_SHUFFLE(1, 0, 3, 2)));  // lane k: [a_k, a_k+4, ..]
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castps512_ps256(_mm512_permutexvar_ps(idx, w));
}

static_assert(kNR == 4 && kMR % 2 == 0, "the reduction takes two rows of four columns at a time");

// 16 outputs from their products with W (g) and, when gated, with W2 (u): g + b, or
// silu(g + b) * (u + b2). Every epilogue of both forms ends with this.
inline __m512 finish16(__m512 g, __m512 u, __m512 b, __m512 b2, bool gated) {
  g = _mm512_add_ps(g, b);
  return gated ? silu_times16(g, _mm512_add_ps(u, b2)) : g;
}


// out[p] = [x row 2p . W rows 0-3, x row 2p+1 . W rows 0-3].
// Over K values from xr[i] and wr[j]; pf: rows (ldw apart) prefetched into L1 meanwhile.
void tile(const float* const* xr, const float* const* wr, const float* pf, int64_t ldw, int64_t K, __m256 out[kMR / 2]) {
  __m512 acc[kMR][kNR];
  #pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    #pragma GCC unroll 8
    for (int j = 0; j < kNR; ++j) _mm_prefetch(reinterpret_cast<const char*>(pf + j * ldw + k), _MM_HINT_T0);
    __m512 wv[kNR];
    #pragma GCC unroll 8
    for (int j = 0; j < kNR; ++j) wv[j] = _mm512_loadu_ps(wr[j] + k);
    #pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      const __m512 xv = _mm512_loadu_ps(xr[i] + k);
      #pragma GCC unroll 8
      for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  if (k < K) {  // the last K % 16 values, masked
    const __mmask16 m = first16(K - k);
    __m512 wv[kNR];
    #pragma GCC unroll 8
    for (int j = 0; j < kNR; ++j) wv[j] = _mm512_maskz_loadu_ps(m, wr[j] + k);
    #pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, xr[i] + k);
      #pragma GCC unroll 8
      for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  #pragma GCC unroll 8
  for (int p = 0; p < kMR / 2; ++p)
    out[p] = hsum8(acc[2 * p][0], acc[2 * p][1], acc[2 * p][2], acc[2 * p][3], acc[2 * p + 1][0], acc[2 * p + 1][1],
                   acc[2 * p + 1][2], acc[2 * p + 1][3]);
}

// Columns go in blocks of kNB: the tiles of a block write into a small buffer, whose rows are
// then copied out whole. Written straight into y, each tile would touch M lines kNB floats
// apart, and a wide y (the 32k LM head) would miss the cache and the TLB on every one.
constexpr int64_t kNB = kDotBlock;
static_assert(kNB % kNR == 0, "whole tiles fit in a block's buffer");

// K is taken in chunks of kKC so that a row tile of x (kMR * kKC floats) and a tile of W stay
// in L1 together; each chunk's dot products add to the buffer.
constexpr int64_t kKC = 512;

// The dot products of the block [b0, b1) of W's rows (columns of y) with every row of x, into
// buf [M, kNB].
void block(const LinearArgs& a, const float* W, int64_t b0, int64_t b1, int64_t n_end, float* buf) {
  const float* wr[kNR];
  const float* xr[kMR];
  const int64_t m_tiles = (a.M + kMR - 1) / kMR, k_chunks = (a.K + kKC - 1) / kKC;
  const int64_t n_tiles = (b1 - b0 + kNR - 1) / kNR;
  // The next block's W rows (contiguous) are prefetched into L2 while this block runs, a share
  // before each tile: fetched when first needed, or all at once, they stall on memory.
  const float* next = W + b1 * a.K;
  const int64_t next_lines = (std::min(n_end, b1 + kNB) - b1) * a.K / 16, steps = k_chunks * m_tiles * n_tiles;
  int64_t step = 0;
  for (int64_t k0 = 0; k0 < a.K; k0 += kKC) {
    const int64_t kc = std::min(kKC, a.K - k0);
    for (int64_t m0 = 0; m0 < a.M; m0 += kMR) {
      const int mr = static_cast<int>(std::min<int64_t>(kMR, a.M - m0));
      for (int i = 0; i < kMR; ++i) xr[i] = a.x + (m0 + (i < mr ? i : 0)) * a.ldx + k0;
      for (int64_t n0 = b0; n0 < b1; n0 += kNR, ++step) {
        for (int64_t l = step * next_lines / steps, le = (step + 1) * next_lines / steps; l < le; ++l)
          _mm_prefetch(reinterpret_cast<const char*>(next + l * 16), _MM_HINT_T1);
        const int nr = static_cast<int>(std::min<int64_t>(kNR, b1 - n0));
        for (int j = 0; j < kNR; ++j) wr[j] = W + (n0 + (j < nr ? j : 0)) * a.K + k0;
        // The next tile's rows into L1; at the last whole tile, its own rows again (stride 0
        // past that), so every prefetched address lies inside W.
        const bool next_whole = n0 + 2 * kNR <= a.N;
        const float* pf = next_whole ? W + (n0 + kNR) * a.K + k0 : wr[0];
        const int64_t pf_ld = next_whole ? a.K : 0;
        __m256 out[kMR / 2];
        tile(xr, wr, pf, pf_ld, kc, out);
        for (int i = 0; i < mr; ++i) {
          float* br = buf + (m0 + i) * kNB + (n0 - b0);  // kNB is a multiple of kNR: whole tiles fit
          const __m128 o = i % 2 == 0 ? _mm256_castps256_ps128(out[i / 2]) : _mm256_extractf128_ps(out[i / 2], 1);
          _mm_storeu_ps(br, k0 == 0 ? o : _mm_add_ps(_mm_loadu_ps(br), o));
        }
      }
    }
  }
}

void run(const LinearArgs& a, int64_t n_begin, int64_t n_end, int64_t prefetch_end) {
  // Per-thread buffers kept between calls (a call may be one 64-column chunk); every entry a
  // block reads was first written by it, so they need no clearing.
  thread_local std::vector<float> buf, buf2;
  if (buf.size() < static_cast<size_t>(a.M * kNB)) buf.resize(static_cast<size_t>(a.M * kNB));
  if (a.w2 && buf2.size() < static_cast<size_t>(a.M * kNB)) buf2.resize(static_cast<size_t>(a.M * kNB));
  for (int64_t b0 = n_begin; b0 < n_end; b0 += kNB) {
    const int64_t b1 = std::min(n_end, b0 + kNB);
    block(a, a.w, b0, b1, prefetch_end, buf.data());
    if (a.w2) block(a, a.w2, b0, b1, prefetch_end, buf2.data());
    for (int64_t m = 0; m < a.M; ++m) {
      float* yr = a.y + m * a.ldy;
      const float* br = buf.data() + m * kNB;
      if (!a.w2) {
        for (int64_t n = b0; n < b1; ++n) yr[n] = br[n - b0] + (a.bias ? a.bias[n] : 0.f);
        continue;
      }
      const float* br2 = buf2.data() + m * kNB;
      for (int64_t n = b0; n < b1; n += 16) {
        const __mmask16 k = first16(b1 - n);
        const __m512 b = a.bias ? _mm512_maskz_loadu_ps(k, a.bias + n) : _mm512_setzero_ps();
        const __m512 b2 = a.bias2 ? _mm512_maskz_loadu_ps(k, a.bias2 + n) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(yr + n, k, finish16(_mm512_maskz_loadu_ps(k, br + (n - b0)), _mm512_maskz_loadu_ps(k, br2 + (n - b0)), b, b2, true));
      }
    }
  }
}

// ---- the broadcast form, for many rows ----------------------------------------------------
// With x transposed (xt [K, Mp], Mp = M rounded up to 16, zero rows past M), a tile keeps kBMV
// vectors of 16 rows by kBNR columns of y: per value of K it loads kBMV vectors of xt and
// broadcasts kBNR values of W, for kBMV * kBNR fused multiply-adds, and no horizontal sums at
// all. The tiles of a block of kBNB columns add into a column-major buffer [kBNB, Mp], which is
// transposed into y 16 x 16 at a time at the block's end.
constexpr int64_t kBNB = kBroadcastBlock;  // 16 tiles of 6
// K chunk: a tile keeps its accumulators in registers over all of K up to here (xt streams from
// L2). Chunks of 64 that stay in L1 but reload the accumulators: 250-260 against 273-282 GFLOP/s
// (64 x 512 x 32000, cold weights, 2 threads, a micro-benchmark of this file, 3 runs each).
constexpr int64_t kBKC = 2048;
static_assert(kBNB % kBNR == 0, "whole tiles fit in a block's buffer");

// acc[v][j] += xt[k][16 v ...] * w_j[k] over k < kc; acc lives in buf (column j at buf + j * ldb).
template <int MV>
void btile(const float* xt, int64_t ldxt, const float* const* wr, int64_t kc, float* buf, int64_t ldb, bool first,
           const float* pf, int64_t pf_ld) {
  __m512 acc[MV][kBNR];
  #pragma GCC unroll 8
  for (int v = 0; v < MV; ++v)
    #pragma GCC unroll 8
    for (int j = 0; j < kBNR; ++j) acc[v][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(buf + j * ldb + 16 * v);
  const auto step = [&](int64_t k) {
    __m512 xv[MV];
    #pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) xv[v] = _mm512_loadu_ps(xt + k * ldxt + 16 * v);
    #pragma GCC unroll 8
    for (int j = 0; j < kBNR; ++j) {
      const __m512 w = _mm512_set1_ps(wr[j][k]);
      #pragma GCC unroll 8
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_fmadd_ps(xv[v], w, acc[v][j]);
    }
  };
  // Four values of K per iteration, so that the loop's own instructions (which share ports with
  // the multiply-adds) count less: two instead of one gave small b64 2249 -> 2365 and 2194 ->
  // 2283 tok/s in A/B runs; four against two, 2340 vs 2321.
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    if ((k & 15) == 0)
      #pragma GCC unroll 8
      for (int j = 0; j < kBNR; ++j) _mm_prefetch(reinterpret_cast<const char*>(pf + j * pf_ld + k), _MM_HINT_T0);
    step(k);
    step(k + 1);
    step(k + 2);
    step(k + 3);
  }
  for (; k < kc; ++k) step(k);
  #pragma GCC unroll 8
  for (int v = 0; v < MV; ++v)
    #pragma GCC unroll 8
    for (int j = 0; j < kBNR; ++j) _mm512_storeu_ps(buf + j * ldb + 16 * v, acc[v][j]);
}

// The block [b0, b1) of y's columns into buf [kBNB, Mp] (column-major). W's rows come from
// memory by the hardware prefetchers and each tile's prefetch of the next tile into L1. A
// software prefetch of the next block into L2 as block() does (up to 192 lines per tile, in a
// burst) stalled the loads behind it: 216 against 272 GFLOP/s in the same micro-benchmark (one run each).
void bblock(const LinearArgs& a, const float* W, int64_t b0, int64_t b1, int64_t Mp, float* buf) {
  const float* wr[kBNR];
  for (int64_t k0 = 0; k0 < a.K; k0 += kBKC) {
    const int64_t kc = std::min(kBKC, a.K - k0);
    for (int64_t m0 = 0; m0 < Mp; m0 += 16 * kBMV) {
      const int mv = static_cast<int>(std::min<int64_t>(kBMV, (Mp - m0) / 16));
      const float* xt = a.xt + k0 * a.ldxt + m0;
      for (int64_t n0 = b0; n0 < b1; n0 += kBNR) {
        const int nr = static_cast<int>(std::min<int64_t>(kBNR, b1 - n0));
        for (int j = 0; j < kBNR; ++j) wr[j] = W + (n0 + (j < nr ? j : nr - 1)) * a.K + k0;
        const bool next_whole = n0 + 2 * kBNR <= a.N;  // as in block(): prefetches stay inside W
        const float* pf = next_whole ? W + (n0 + kBNR) * a.K + k0 : wr[0];
        const int64_t pf_ld = next_whole ? a.K : 0;
        float* b = buf + (n0 - b0) * Mp + m0;
        switch (mv) {
          case 4: btile<4>(xt, a.ldxt, wr, kc, b, Mp, k0 == 0, pf, pf_ld); break;
          case 3: btile<3>(xt, a.ldxt, wr, kc, b, Mp, k0 == 0, pf, pf_ld); break;
          case 2: btile<2>(xt, a.ldxt, wr, kc, b, Mp, k0 == 0, pf, pf_ld); break;
          default: btile<1>(xt, a.ldxt, wr, kc, b, Mp, k0 == 0, pf, pf_ld); break;
        }
      }
    }
  }
}

void run_broadcast(const LinearArgs& a, int64_t n_begin, int64_t n_end) {
  const int64_t Mp = (a.M + 15) / 16 * 16;
  thread_local std::vector<float> buf, buf2;  // every entry read was first written (k0 == 0)
  if (buf.size() < static_cast<size_t>(kBNB * Mp)) buf.resize(static_cast<size_t>(kBNB * Mp));
  if (a.w2 && buf2.size() < static_cast<size_t>(kBNB * Mp)) buf2.resize(static_cast<size_t>(kBNB * Mp));
  for (int64_t b0 = n_begin; b0 < n_end; b0 += kBNB) {
    const int64_t b1 = std::min(n_end, b0 + kBNB);
    bblock(a, a.w, b0, b1, Mp, buf.data());
    if (a.w2) bblock(a, a.w2, b0, b1, Mp, buf2.data());
    if (a.yt) {  // the buffer is y transposed already: bias and the gated product, row by row
      const __mmask16 tail = first16(a.M % 16 == 0 ? 16 : a.M % 16);
      for (int64_t n = b0; n < b1; ++n) {
        const float* br = buf.data() + (n - b0) * Mp;
        const float* br2 = a.w2 ? buf2.data() + (n - b0) * Mp : nullptr;
        const __m512 bias = _mm512_set1_ps(a.bias ? a.bias[n] : 0.f), bias2 = _mm512_set1_ps(a.bias2 ? a.bias2[n] : 0.f);
        float* yr = a.yt + n * a.ldyt;
        for (int64_t m0 = 0; m0 < a.ldyt; m0 += 16) {
          __m512 y = _mm512_setzero_ps();
          if (m0 < a.M) {
            y = finish16(_mm512_loadu_ps(br + m0), br2 ? _mm512_loadu_ps(br2 + m0) : y, bias, bias2, br2);
            if (m0 + 16 > a.M) y = _mm512_maskz_mov_ps(tail, y);  // rows past M stay 0
          }
          _mm512_storeu_ps(yr + m0, y);
        }
      }
      continue;
    }
    // Transpose into y, 16 columns by 16 rows at a time; bias and the gated product on the way.
    for (int64_t c0 = 0; c0 < b1 - b0; c0 += 16) {
      const int64_t nc = std::min<int64_t>(16, b1 - b0 - c0);
      const __mmask16 cm = first16(nc);
      const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(cm, a.bias + b0 + c0) : _mm512_setzero_ps();
      const __m512 bias2 = a.bias2 ? _mm512_maskz_loadu_ps(cm, a.bias2 + b0 + c0) : _mm512_setzero_ps();
      for (int64_t m0 = 0; m0 < a.M; m0 += 16) {
        __m512 r[16], u[16];
        for (int i = 0; i < 16; ++i) r[i] = i < nc ? _mm512_loadu_ps(buf.data() + (c0 + i) * Mp + m0) : _mm512_setzero_ps();
        transpose16(r);
        if (a.w2) {
          for (int i = 0; i < 16; ++i) u[i] = i < nc ? _mm512_loadu_ps(buf2.data() + (c0 + i) * Mp + m0) : _mm512_setzero_ps();
          transpose16(u);
        }
        const int64_t rows = std::min<int64_t>(16, a.M - m0);
        for (int64_t i = 0; i < rows; ++i)
          _mm512_mask_storeu_ps(a.y + (m0 + i) * a.ldy + b0 + c0, cm, finish16(r[i], a.w2 ? u[i] : r[i], bias, bias2, a.w2));
      }
    }
  }
}

void transpose_rows_avx512(const float* x, int64_t M, int64_t K, int64_t ldx, float* xt, int64_t ldxt) {
  for (int64_t m0 = 0; m0 < ldxt; m0 += 16)
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
      const __mmask16 km = first16(K - k0);
      __m512 r[16];
      for (int64_t i = 0; i < 16; ++i) r[i] = m0 + i < M ? _mm512_maskz_loadu_ps(km, x + (m0 + i) * ldx + k0) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t i = 0; i < 16 && k0 + i < K; ++i) _mm512_storeu_ps(xt + (k0 + i) * ldxt + m0, r[i]);
    }
}

}  // namespace
#pragma GCC diagnostic pop
#pragma GCC pop_options

void transpose_rows(const float* x, int64_t M, int64_t K, int64_t ldx, float* xt, int64_t ldxt) {
  if (!linear_available()) throw std::runtime_error("kernels::transpose_rows: this CPU has no AVX-512F");
  transpose_rows_avx512(x, M, K, ldx, xt, ldxt);
}

void linear(const LinearArgs& a, int64_t n_begin, int64_t n_end, int64_t prefetch_end) {
  if (!linear_available()) throw std::runtime_error("kernels::linear: this CPU has no AVX-512F");
  if (a.xt && (a.ldxt % 16 != 0 || a.ldxt < a.M)) throw std::invalid_argument("kernels::linear: ldxt must be a multiple of 16 and at least M");
  if (a.yt && (!a.xt || a.ldyt % 16 != 0 || a.ldyt < a.M))
    throw std::invalid_argument("kernels::linear: yt needs xt, and ldyt must be a multiple of 16 and at least M");
  const int64_t pe = std::min(a.N, std::max(n_end, prefetch_end));
  if (a.xt) run_broadcast(a, n_begin, n_end);
  else run(a, n_begin, n_end, pe);
}

#else

bool linear_available() { return false; }
void linear(const LinearArgs&, int64_t, int64_t, int64_t) {
  throw std::runtime_error("kernels::linear: built for x86-64 only");
}
void transpose_rows(const float*, int64_t, int64_t, int64_t, float*, int64_t) {
  throw std::runtime_error("kernels::transpose_rows: built for x86-64 only");
}

#endif

}  // namespace arlt::kernels
