#include "arlt/kernels/elementwise.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace arlt::kernels {

namespace {
// e^x in a form the compiler vectorises (libm's expf is a call per element): x = n ln2 + r with
// |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative error below 2e-7 there, about
// 2 ulp), times 2^n built in the exponent bits. Inputs are clamped to where the result is a
// finite normal float; exp(-inf) gives 1.2e-38 instead of 0, which silu cannot tell apart.
__attribute__((always_inline, optimize("no-associative-math"))) inline float exp_vec(float x) {
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

// Without the file's reassociation, which would merge the two parts of ln2 in exp_vec (the loop
// has no reduction that needs it).
#if defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
__attribute__((optimize("no-associative-math"))) void silu_mul(const float* gate, const float* up, float* out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) out[i] = gate[i] / (1.f + exp_vec(-gate[i])) * up[i];
}

}  // namespace arlt::kernels
