// Shared helpers for the torch tests: tiny models and tensor comparisons, plus the torch-free
// temp folders and command runner of test_fs.h.
#pragma once
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

}  // namespace arlt::test
