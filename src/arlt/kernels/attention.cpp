#include "arlt/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace arlt::kernels {

// Built with -O3 and relaxed float reassociation (CMakeLists) so the loops over D vectorise; an
// x86-64-v4 (AVX-512) or v3 (AVX2 + FMA) clone is chosen at load time by the CPU's features
// ("arch=<cpu name>" clones would be chosen only on that very CPU model).
#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void slot_attention(const SlotAttentionArgs& a, int64_t begin, int64_t end, int64_t prefetch_end) {
  prefetch_end = std::max(end, prefetch_end);
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
    const float* nk = nullptr;
    const float* nv = nullptr;
    int64_t nS = 0;
    if (item + 1 < prefetch_end) {
      const int64_t ni = (item + 1) / a.KV, ng = (item + 1) % a.KV;
      nk = a.k + (a.slot[ni] * a.KV + ng) * a.L * D;
      nv = a.v + (a.slot[ni] * a.KV + ng) * a.L * D;
      nS = a.pos[ni] + 1;
    }
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
