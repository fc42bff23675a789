#include "arlt/kernels/elementwise.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace arlt::kernels {

namespace {
// e^x in a form the compiler vectorises (libm's expf is a call per element): x = n ln2 + r with
// |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative error below 2e-7 there, about
// 2 ulp), times 2^n built in the exponent bits. Inputs are clamped to where the result is a
// finite normal float; exp(-inf) gives e^-87 = 1.6e-38 instead of 0 (callers that care test the
// input). The file's reassociation may merge the two parts of ln2: relative error then grows
// with |n|, to about 5e-6 at |x| = 87 (3e-7 for |x| < 5), where the terms are too small to
// matter in a sum. (Error figures are from the formula, not measured.)
inline float exp_vec(float x) {
  x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504088896341f;
  const float n = static_cast<float>(static_cast<int32_t>(t + (t >= 0.f ? 0.5f : -0.5f)));
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;  // ln2 in two parts
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
}  // namespace

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
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void silu_mul(const float* gate, const float* up, float* out, int64_t begin, int64_t end) {
  // Below -87 the clamped exp would make gate / (1 + e^87) far from silu's 0 for huge gates.
  for (int64_t i = begin; i < end; ++i) out[i] = gate[i] < -87.f ? 0.f : gate[i] / (1.f + exp_vec(-gate[i])) * up[i];
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

#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
float row_max(const float* x, int64_t V) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t v = 0; v < V; ++v) m = x[v] > m ? x[v] : m;
  return m;
}
}  // namespace

void token_logp_entropy(const float* logits, int64_t V, float inv_t, const int64_t* target, float* logp, float* entropy,
                        int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float* x = logits + r * V;
    const int64_t tgt = target[r];
    if (tgt < 0 || tgt >= V) throw std::out_of_range("token_logp_entropy: target " + std::to_string(tgt) + " outside [0, " + std::to_string(V) + ")");
    const float mx = row_max(x, V);
    float se = 0.f, set = 0.f;
    row_sums(x, V, mx, inv_t, &se, &set);
    const float lse = std::log(se);  // log sum exp(t), t relative to the max
    logp[r] = (x[tgt] - mx) * inv_t - lse;
    if (entropy) entropy[r] = lse - set / se;
  }
}

}  // namespace arlt::kernels
