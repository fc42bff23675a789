#include "arlt/kernels/elementwise.h"
#include "arlt/kernels/vec_math.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace arlt::kernels {


// Built with -O3 and relaxed float reassociation (CMakeLists) so the loops vectorise.
#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void rms_norm(const float* x, const float* w, float eps, int64_t D, float* out, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * D;
    float* o = out + r * D;
    float ss = 0.f;
    for (int64_t d = 0; d < D; ++d) ss += xr[d] * xr[d];
    const float inv = 1.f / std::sqrt(ss / static_cast<float>(D) + eps);
    for (int64_t d = 0; d < D; ++d) o[d] = xr[d] * inv * w[d];
  }
}

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own intrinsics (the undefined upper half of a cast)
namespace {
__attribute__((target("avx512f"))) void silu_mul_avx512(const float* gate, const float* up, float* out, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 16 <= end; i += 16) _mm512_storeu_ps(out + i, silu_times16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  if (i < end) {
    const __mmask16 m = first16(end - i);
    _mm512_mask_storeu_ps(out + i, m, silu_times16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}
}  // namespace
#pragma GCC diagnostic pop
#endif

void silu_mul(const float* gate, const float* up, float* out, int64_t begin, int64_t end) {
#if defined(__x86_64__)
  if (has_avx512f()) return silu_mul_avx512(gate, up, out, begin, end);
#endif
  for (int64_t i = begin; i < end; ++i) out[i] = silu_times(gate[i], up[i]);
}

#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void rope(const float* x, const float* cos, const float* sin, int64_t B, int64_t T, int64_t H, int64_t D, bool cos_batched,
          float* out, int64_t begin, int64_t end) {
  const int64_t half = D / 2;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t b = item / T, t = item % T;
    const float* c = cos + ((cos_batched ? b : 0) * T + t) * D;
    const float* s = sin + ((cos_batched ? b : 0) * T + t) * D;
    for (int64_t h = 0; h < H; ++h) {
      const float* xr = x + (item * H + h) * D;
      float* o = out + (item * H + h) * D;
      for (int64_t d = 0; d < half; ++d) o[d] = xr[d] * c[d] - xr[d + half] * s[d];
      for (int64_t d = half; d < D; ++d) o[d] = xr[d] * c[d] + xr[d - half] * s[d];
    }
  }
}

namespace {
// sum over the row of e = exp(t) and of e * t, t = (x - max) * inv_t clamped to [-87, 0] (so a
// -inf logit adds about 1e-38 * -87, not NaN).
#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void row_sums(const float* x, int64_t V, float mx, float inv_t, float* sum_e, float* sum_et) {
  float se = 0.f, set = 0.f;
  for (int64_t v = 0; v < V; ++v) {
    float t = (x[v] - mx) * inv_t;
    t = t < -87.f ? -87.f : t;
    const float e = exp_vec(t);
    se += e;
    set += e * t;
  }
  *sum_e = se;
  *sum_et = set;
}

// Max of x[0, V) and the first index holding it (NaN never compares greater, so it is skipped).
// With AVX-512 a vector of 16 running maxima and their indices (GCC does not vectorise an
// argmax loop); the lanes' results are then merged, the smallest index winning a tie.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) float row_max_avx512(const float* x, int64_t V, int64_t* arg) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512i at = _mm512_setzero_si512();
  __m512i cur = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  int64_t v = 0;
  for (; v + 16 <= V; v += 16) {
    const __m512 xv = _mm512_loadu_ps(x + v);
    const __mmask16 gt = _mm512_cmp_ps_mask(xv, m, _CMP_GT_OQ);
    m = _mm512_mask_mov_ps(m, gt, xv);
    at = _mm512_mask_mov_epi32(at, gt, cur);
    cur = _mm512_add_epi32(cur, step);
  }
  alignas(64) float ml[16];
  alignas(64) int32_t al[16];
  _mm512_store_ps(ml, m);
  _mm512_store_si512(al, at);
  float best = -std::numeric_limits<float>::infinity();
  int64_t best_at = 0;
  for (int l = 0; l < 16; ++l)
    if (ml[l] > best || (ml[l] == best && al[l] < best_at)) best = ml[l], best_at = al[l];
  for (; v < V; ++v)
    if (x[v] > best) best = x[v], best_at = v;
  if (arg) *arg = best_at;
  return best;
}
#endif

float row_max(const float* x, int64_t V, int64_t* arg) {
#if defined(__x86_64__)
  if (has_avx512f()) return row_max_avx512(x, V, arg);
#endif
  float best = -std::numeric_limits<float>::infinity();
  int64_t best_at = 0;
  for (int64_t v = 0; v < V; ++v)
    if (x[v] > best) best = x[v], best_at = v;
  if (arg) *arg = best_at;
  return best;
}

// sum over the row of exp(x - mx), mx finite.
#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
float row_sum_exp(const float* x, int64_t V, float mx) {
  float s = 0.f;
  for (int64_t v = 0; v < V; ++v) s += exp_vec(x[v] - mx);
  return s;
}
}  // namespace

bool row_argmax_logsumexp(const float* x, int64_t V, int64_t* argmax, float* lse) {
  if (V > std::numeric_limits<int32_t>::max()) return false;  // the lanes keep 32-bit indices
  const float mx = row_max(x, V, argmax);
  if (!std::isfinite(mx)) return false;  // all -inf, a +inf or only NaN: the caller's general path
  // exp_vec clamps below -87: a logit more than 87 under the max adds e^-87 (1.6e-38) instead of
  // less, nothing next to the max's own 1. A NaN logit makes the sum NaN, reported as such.
  const float s = row_sum_exp(x, V, mx);
  if (!std::isfinite(s)) return false;
  *lse = mx + std::log(s);
  return true;
}

void token_logp_entropy(const float* logits, int64_t V, float inv_t, const int64_t* target, float* logp, float* entropy,
                        int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float* x = logits + r * V;
    const int64_t tgt = target[r];
    if (tgt < 0 || tgt >= V) throw std::out_of_range("token_logp_entropy: target " + std::to_string(tgt) + " outside [0, " + std::to_string(V) + ")");
    const float mx = row_max(x, V, nullptr);
    float se = 0.f, set = 0.f;
    row_sums(x, V, mx, inv_t, &se, &set);
    const float lse = std::log(se);  // log sum exp(t), t relative to the max
    logp[r] = (x[tgt] - mx) * inv_t - lse;
    if (entropy) entropy[r] = lse - set / se;
  }
}

}  // namespace arlt::kernels
