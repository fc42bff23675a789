// Math for the kernels: exp_vec, scalar code GCC vectorises (no libm call, no branch), and
// AVX-512 helpers (has_avx512f, exp16, transpose16, first16, silu_times16). Internal to the
// kernel sources.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace arlt::kernels {

// e^x in a form the compiler vectorises (libm's expf is a call per element): x = n ln2 + r with
// |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative error below 2e-7 there, about
// 2 ulp), times 2^n built in the exponent bits. Inputs are clamped to where the result is a
// finite normal float; exp(-inf) gives e^-87 = 1.6e-38 instead of 0 (callers that care test the
// input). A caller built with reassociation may merge the two parts of ln2: relative error then grows
// with |n|, to about 5e-6 at |x| = 87 (3e-7 for |x| < 5), where the terms are too small to
// matter in a sum. (Error figures are from the formula, not measured.)
inline float exp_vec(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);  // branch-free, so the loops vectorise
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

#if defined(__x86_64__)
// Whether this CPU runs the AVX-512F code below (checked once).
inline bool has_avx512f() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

// e^x for 16 floats, the same method as exp_vec (clamps, n = round(x / ln2), degree-6
// polynomial), with 2^n applied by vscalefps. AVX-512F: call only where the CPU has it.
__attribute__((target("avx512f"), always_inline)) inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.f)), _mm512_set1_ps(88.f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

// In-register transpose: r[i] (16 floats each) becomes column i.
__attribute__((target("avx512f"), always_inline)) inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

// The first n lanes (all 16 from n >= 16).
__attribute__((target("avx512f"), always_inline)) inline __mmask16 first16(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u);
}

// silu(g) * u = g / (1 + e^-g) * u for 16 floats; gates below -87 give 0 (the clamped exp would
// make g / (1 + e^87) far from silu's 0 for huge negative gates). Written with intrinsics: from
// the scalar form GCC evaluated both arms of exp's clamps for every lane, and the unused arm
// g / (1 + e^88) made denormals that cost a microcode assist per vector (measured on 90k gates:
// 3.3 ns per element that way, 0.43 ns with this).
__attribute__((target("avx512f"), always_inline)) inline __m512 silu_times16(__m512 g, __m512 u) {
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
  const __m512 s = _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.f), e)), u);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, _mm512_set1_ps(-87.f), _CMP_NLT_UQ), s);
}
#endif

// The scalar form for CPUs without AVX-512: libm's exp, exact to the float. (The exp_vec form,
// vectorised for AVX2, was slower for the same denormals: 5.8 against 2.5 ns per element,
// measured with an x86-64-v3 build on the Xeon VM.)
inline float silu_times(float g, float u) { return g < -87.f ? 0.f : g / (1.f + std::exp(-g)) * u; }

}  // namespace arlt::kernels
