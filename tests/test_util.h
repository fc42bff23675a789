// Shared helpers for the torch tests: tiny models and tensor comparisons, plus the torch-free
// temp folders and command runner of test_fs.h.
#pragma once
#include <gtest/gtest.h>

#include <cmath>

#include "arlt/model/transformer.h"
#include "test_fs.h"

namespace arlt::test {

// Every parameter drawn from N(mean, std) (mean 1 for norm weights): larger than the 0.02 of
// init so attention is far from uniform and position mistakes move the logits visibly.
inline void randomize(model::Transformer& m, uint64_t seed, double std = 0.1) {
  torch::NoGradGuard ng;
  torch::manual_seed(seed);
  for (auto& p : m.named_parameters(true)) {
    const bool is_norm = p.key().find("norm.weight") != std::string::npos;
    p.value().copy_(torch::randn(p.value().sizes()) * std + (is_norm ? 1.0 : 0.0));
  }
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Same shape and every element within tol (absolute and relative), printing both when not.
inline void expect_close(const torch::Tensor& got, const torch::Tensor& want, double tol = 1e-5) {
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(torch::allclose(got.to(torch::kDouble), want.to(torch::kDouble), tol, tol)) << "got\n" << got << "\nwant\n" << want;
}

// Forward-error bounds of fp32 arithmetic, for kernel tests: a tolerance that comes from the
// computation, never from another library's error on the machine at hand.
//
// A dot product of n terms in fp32, summed in any order, with or without FMA, is off from the
// exact value by at most gamma_n * sum |terms| (Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., eq. 3.5), gamma_n = n u / (1 - n u), u = 2^-24. The references are
// computed in double from the same fp32 inputs (exact), whose own error (gamma_n with u = 2^-53)
// is added so the bound holds against them.
inline double gamma_fp32(int64_t n) {
  const double u = std::ldexp(1.0, -24) + std::ldexp(1.0, -53);
  return static_cast<double>(n) * u / (1.0 - static_cast<double>(n) * u);
}

// Bound per output of fp32 y = x w^T + b (x [..., K], w [N, K], b [N] or undefined), in double.
inline torch::Tensor linear_error_bound(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {}) {
  const auto d = [](const torch::Tensor& t) { return t.to(torch::kFloat64).abs(); };
  torch::Tensor s = torch::matmul(d(x), d(w).t());
  if (b.defined()) s = s + d(b);
  return s * gamma_fp32(x.size(-1) + (b.defined() ? 1 : 0));
}

// The relative error of one fp32 silu (exp by polynomial, up to 5e-6 relative where the
// compiler merges ln2's two parts, see kernels/vec_math.h; one division, one add) and the
// multiply after it, rounded up.
constexpr double kSiluMulRelErr = 8e-6;

// Bound per output of fp32 silu(a) * c where a and c carry errors of at most ea and ec (double
// tensors of their exact values and bounds): |silu'| <= 1.1 everywhere.
inline torch::Tensor gated_error_bound(const torch::Tensor& a, const torch::Tensor& ea, const torch::Tensor& c,
                                       const torch::Tensor& ec) {
  const torch::Tensor y = torch::silu(a) * c;
  return 1.1 * ea * (c.abs() + ec) + torch::silu(a).abs() * ec + kSiluMulRelErr * (y.abs() + 1.1 * ea * (c.abs() + ec) + torch::silu(a).abs() * ec);
}

// Every element of got within bound of want (compared in double); names the worst element and
// how much of its bound it used.
inline ::testing::AssertionResult within_bound(const torch::Tensor& got, const torch::Tensor& want, const torch::Tensor& bound) {
  if (got.sizes() != want.sizes()) return ::testing::AssertionFailure() << "shapes differ: " << got.sizes() << " vs " << want.sizes();
  const torch::Tensor err = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs();
  const torch::Tensor ratio = err / (bound.to(torch::kFloat64).expand_as(err) + 1e-300);
  const int64_t worst = ratio.reshape(-1).argmax().item<int64_t>();
  const double r = ratio.reshape(-1)[worst].item<double>();
  if (!(r <= 1.0) || !torch::isfinite(got).all().item<bool>())
    return ::testing::AssertionFailure() << "element " << worst << ": error " << err.reshape(-1)[worst].item<double>() << " > bound "
                                         << bound.to(torch::kFloat64).expand_as(err).reshape(-1)[worst].item<double>() << " (" << r << " of it)";
  return ::testing::AssertionSuccess();
}

}  // namespace arlt::test
