#include "arlt/kernels/attention.h"
#include "arlt/kernels/vec_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace arlt::kernels {

namespace {
// The keys and values of work item `item` (S filled rows), to prefetch while the one before it
// runs; null past prefetch_end.
struct NextItem {
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t S = 0;
};
NextItem next_item(const SlotAttentionArgs& a, int64_t item, int64_t prefetch_end) {
  NextItem n;
  if (item >= prefetch_end) return n;
  const int64_t i = item / a.KV, g = item % a.KV;
  n.k = a.k + (a.slot[i] * a.KV + g) * a.L * a.D;
  n.v = a.v + (a.slot[i] * a.KV + g) * a.L * a.D;
  n.S = a.pos[i] + 1;
  return n;
}
}  // namespace

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own intrinsics (the undefined upper half of a cast)
namespace {
// Of the next item's cache lines, one in kPrefetchEvery is prefetched; the hardware prefetchers
// take the lines in between. Each software prefetch holds a fill buffer until its line arrives,
// and with every line prefetched the loop stalled on them (the profile's samples sat on the
// prefetch instructions). Small b64: one in 4, 2354 tok/s; one in 2, 2300; one in 8, 2315; one
// in 16, 2286; every line, 2308 (medians of 5 interleaved runs).
constexpr int64_t kPrefetchEvery = 4;
inline bool prefetch_line(int64_t row, int64_t lines_per_row, int64_t c) { return (row * lines_per_row + c) % kPrefetchEvery == 0; }

// One item with AVX-512 for head sizes that are multiples of 16 (up to 256): the query in
// registers; scores 16 positions at a time (16 dot products, then one register transpose to sum
// them); softmax with exp16; the output accumulated in registers. `next` is prefetched meanwhile.
__attribute__((target("avx512f"))) void item_avx512(const SlotAttentionArgs& a, int64_t item, const NextItem& next, float* scores) {
  const float* nk = next.k;
  const float* nv = next.v;
  const int64_t nS = next.S;
  const int64_t G = a.H / a.KV, D = a.D, nd = D / 16;
  const int64_t i = item / a.KV, g = item % a.KV, S = a.pos[i] + 1;
  const float* kb = a.k + (a.slot[i] * a.KV + g) * a.L * D;
  const float* vb = a.v + (a.slot[i] * a.KV + g) * a.L * D;
  for (int64_t j = 0; j < G; ++j) {
    const float* qr = a.q + (i * a.H + g * G + j) * D;
    float* orow = a.out + (i * a.H + g * G + j) * D;
    __m512 q[16];
    for (int64_t c = 0; c < nd; ++c) q[c] = _mm512_mul_ps(_mm512_loadu_ps(qr + 16 * c), _mm512_set1_ps(a.scale));
    const bool pf = j == 0 && nk;
    int64_t s = 0;
    for (; s + 16 <= S; s += 16) {
      __m512 r[16];
      for (int t = 0; t < 16; ++t) {
        const float* kr = kb + (s + t) * D;
        if (pf && s + t < nS)
          for (int64_t c = 0; c < nd; ++c)
            if (prefetch_line(s + t, nd, c)) _mm_prefetch(reinterpret_cast<const char*>(nk + (s + t) * D + 16 * c), _MM_HINT_T0);
        __m512 acc = _mm512_mul_ps(q[0], _mm512_loadu_ps(kr));
        for (int64_t c = 1; c < nd; ++c) acc = _mm512_fmadd_ps(q[c], _mm512_loadu_ps(kr + 16 * c), acc);
        r[t] = acc;
      }
      transpose16(r);  // r[l] holds lane l of the 16 accumulators: their sum is the 16 dot products
      for (int t = 1; t < 16; ++t) r[0] = _mm512_add_ps(r[0], r[t]);
      _mm512_storeu_ps(scores + s, r[0]);
    }
    for (; s < S; ++s) {
      const float* kr = kb + s * D;
      if (pf && s < nS)
        for (int64_t c = 0; c < nd; ++c)
          if (prefetch_line(s, nd, c)) _mm_prefetch(reinterpret_cast<const char*>(nk + s * D + 16 * c), _MM_HINT_T0);
      __m512 acc = _mm512_mul_ps(q[0], _mm512_loadu_ps(kr));
      for (int64_t c = 1; c < nd; ++c) acc = _mm512_fmadd_ps(q[c], _mm512_loadu_ps(kr + 16 * c), acc);
      scores[s] = _mm512_reduce_add_ps(acc);
    }
    // Softmax over the S scores.
    __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (s = 0; s < S; s += 16) {  // lanes past S keep mx (a zero there would raise the max)
      const __mmask16 k = first16(S - s);
      mx = _mm512_mask_max_ps(mx, k, mx, _mm512_maskz_loadu_ps(k, scores + s));
    }
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (s = 0; s < S; s += 16) {
      const __mmask16 k = first16(S - s);
      const __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, scores + s), m)));
      _mm512_mask_storeu_ps(scores + s, k, e);
      sum = _mm512_add_ps(sum, e);
    }
    const float inv = 1.f / _mm512_reduce_add_ps(sum);
    // The weighted sum of the values.
    __m512 o[16];
    for (int64_t c = 0; c < nd; ++c) o[c] = _mm512_setzero_ps();
    for (s = 0; s < S; ++s) {
      if (pf && s < nS)
        for (int64_t c = 0; c < nd; ++c)
          if (prefetch_line(s, nd, c)) _mm_prefetch(reinterpret_cast<const char*>(nv + s * D + 16 * c), _MM_HINT_T0);
      const __m512 p = _mm512_set1_ps(scores[s]);
      const float* vr = vb + s * D;
      for (int64_t c = 0; c < nd; ++c) o[c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vr + 16 * c), o[c]);
    }
    for (int64_t c = 0; c < nd; ++c) _mm512_storeu_ps(orow + 16 * c, _mm512_mul_ps(o[c], _mm512_set1_ps(inv)));
  }
}
}  // namespace
#pragma GCC diagnostic pop
#endif

// Built with -O3 and relaxed float reassociation (CMakeLists) so the loops over D vectorise; an
// x86-64-v4 (AVX-512) or v3 (AVX2 + FMA) clone is chosen at load time by the CPU's features
// ("arch=<cpu name>" clones would be chosen only on that very CPU model).
#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void slot_attention(const SlotAttentionArgs& a, int64_t begin, int64_t end, int64_t prefetch_end) {
  prefetch_end = std::max(end, prefetch_end);
#if defined(__x86_64__)
  if (has_avx512f() && a.D > 0 && a.D % 16 == 0 && a.D <= 256) {
    thread_local std::vector<float> sc;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t S = a.pos[item / a.KV] + 1;
      if (static_cast<int64_t>(sc.size()) < S + 16) sc.resize(static_cast<size_t>(S + 16));
      item_avx512(a, item, next_item(a, item + 1, prefetch_end), sc.data());
    }
    return;
  }
#endif
  const int64_t G = a.H / a.KV, D = a.D;
  std::vector<float> scores;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t i = item / a.KV, g = item % a.KV;
    const int64_t S = a.pos[i] + 1;
    const float* kb = a.k + (a.slot[i] * a.KV + g) * a.L * D;
    const float* vb = a.v + (a.slot[i] * a.KV + g) * a.L * D;
    const float* qb = a.q + (i * a.H + g * G) * D;  // the G heads of this group, consecutive
    float* ob = a.out + (i * a.H + g * G) * D;
    scores.resize(static_cast<size_t>(G * S));
    // The cache streams from memory: the next item's keys and values are prefetched while this
    // one runs, a row per row of this one's.
    const NextItem n = next_item(a, item + 1, prefetch_end);
    const float* nk = n.k;
    const float* nv = n.v;
    const int64_t nS = n.S;
    for (int64_t s = 0; s < S; ++s) {
      if (s < nS)
        for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(nk + s * D + d);
      const float* kr = kb + s * D;
      for (int64_t j = 0; j < G; ++j) {
        const float* qr = qb + j * D;
        float dot = 0.f;
        for (int64_t d = 0; d < D; ++d) dot += qr[d] * kr[d];
        scores[j * S + s] = dot * a.scale;
      }
    }
    for (int64_t j = 0; j < G; ++j) {
      float* sc = scores.data() + j * S;
      const float mx = *std::max_element(sc, sc + S);
      float sum = 0.f;
      for (int64_t s = 0; s < S; ++s) {
        sc[s] = std::exp(sc[s] - mx);
        sum += sc[s];
      }
      const float inv = 1.f / sum;
      for (int64_t s = 0; s < S; ++s) sc[s] *= inv;
      std::fill(ob + j * D, ob + (j + 1) * D, 0.f);
    }
    for (int64_t s = 0; s < S; ++s) {
      if (s < nS)
        for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(nv + s * D + d);
      const float* vr = vb + s * D;
      for (int64_t j = 0; j < G; ++j) {
        const float p = scores[j * S + s];
        float* o = ob + j * D;
        for (int64_t d = 0; d < D; ++d) o[d] += p * vr[d];
      }
    }
  }
}

}  // namespace arlt::kernels
