// KL estimators, the KL coefficient controller and the entropy of logits, against numbers
// worked out by hand in the comments.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "arlt/algo/kl.h"
#include "arlt/base/error.h"
#include "../test_util.h"

using namespace arlt::algo;

namespace {

const auto F = torch::kFloat32;

using arlt::test::expect_close;

// logp - ref = 0.5, -1, 0 | 0, 2, -30; no mask: every entry is returned.
torch::Tensor logp() { return torch::tensor({{-1.0, -2.0, -0.5}, {-1.0, -1.0, -30.5}}, F); }
torch::Tensor ref() { return torch::tensor({{-1.5, -1.0, -0.5}, {-1.0, -3.0, -0.5}}, F); }

}  // namespace

TEST(AlgoKL, EstimatorsByHand) {
  // k1 = d; abs = |d|; k2 = d^2/2.
  expect_close(kl_penalty(logp(), ref(), "k1"), torch::tensor({{0.5, -1.0, 0.0}, {0.0, 2.0, -30.0}}, F));
  expect_close(kl_penalty(logp(), ref(), "abs"), torch::tensor({{0.5, 1.0, 0.0}, {0.0, 2.0, 30.0}}, F));
  expect_close(kl_penalty(logp(), ref(), "k2"), torch::tensor({{0.125, 0.5, 0.0}, {0.0, 2.0, 450.0}}, F));
  // k3 with x = ref - logp = -0.5, 1, 0 | 0, -2, 30:
  //   e^-0.5 + 0.5 - 1 = 0.6065307 - 0.5 = 0.1065307; e - 2 = 0.7182818; 0; 0; e^-2 + 2 - 1 = 1.1353353;
  //   x = 30 is clamped to 20 first, and e^20 - 21 to 10.
  expect_close(kl_penalty(logp(), ref(), "k3"),
               torch::tensor({{0.1065307, 0.7182818, 0.0}, {0.0, 1.1353353, 10.0}}, F));
}

TEST(AlgoKL, AliasesMatchVerlNames) {
  EXPECT_TRUE(kl_penalty(logp(), ref(), "low_var_kl").equal(kl_penalty(logp(), ref(), "k3")));
  EXPECT_TRUE(kl_penalty(logp(), ref(), "kl").equal(kl_penalty(logp(), ref(), "k1")));
  EXPECT_TRUE(kl_penalty(logp(), ref(), "mse").equal(kl_penalty(logp(), ref(), "k2")));
  EXPECT_EQ(kl_estimators(), (std::vector<std::string>{"abs", "k1", "k2", "k3", "kl", "low_var_kl", "mse"}));
}

TEST(AlgoKL, K3GradientByHand) {
  // d/dlogp (e^(ref-logp) - (ref-logp) - 1) = 1 - e^(ref-logp): at x = -0.5: 1 - 0.6065307 = 0.3934693;
  // at x = 1: 1 - e = -1.7182818.
  torch::Tensor lp = torch::tensor({-1.0, -2.0}, F).requires_grad_(true);
  kl_penalty(lp, torch::tensor({-1.5, -1.0}, F), "k3").sum().backward();
  expect_close(lp.grad(), torch::tensor({0.3934693, -1.7182818}, F));
}

TEST(AlgoKL, UnknownEstimatorAndShapeMismatch) {
  try {
    kl_penalty(logp(), ref(), "k4");
    FAIL() << "no error";
  } catch (const arlt::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'k4'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("low_var_kl"), std::string::npos) << msg;
  }
  EXPECT_THROW(kl_penalty(logp(), ref().slice(1, 0, 2), "k1"), arlt::Error);
}

TEST(AlgoKLController, FixedNeverMoves) {
  auto c = KLController::fixed(0.05);
  EXPECT_FALSE(c.is_adaptive());
  c.update(100.0, 1000);
  EXPECT_EQ(c.value(), 0.05);
}

TEST(AlgoKLController, AdaptiveFollowsZiegler) {
  // init 0.1, target 6, horizon 10000.
  //   kl 9, 1000 steps: err = 9/6 - 1 = 0.5 -> clipped 0.2; beta *= 1 + 0.2*1000/10000 = 1.02 -> 0.102.
  //   kl 3, 500 steps: err = -0.5 -> -0.2; beta *= 1 - 0.2*0.05 = 0.99 -> 0.10098.
  //   kl 6.6, 10000 steps: err = 0.1 (inside the clip); beta *= 1.1 -> 0.111078.
  auto c = KLController::adaptive(0.1, 6.0, 10000.0);
  EXPECT_TRUE(c.is_adaptive());
  c.update(9.0, 1000);
  EXPECT_NEAR(c.value(), 0.102, 1e-12);
  KLController copy = c;  // a value: the copy moves on its own
  c.update(3.0, 500);
  EXPECT_NEAR(c.value(), 0.10098, 1e-12);
  c.update(6.6, 10000);
  EXPECT_NEAR(c.value(), 0.111078, 1e-12);
  EXPECT_NEAR(copy.value(), 0.102, 1e-12);
}

TEST(AlgoKLController, BadSettingsAreErrors) {
  EXPECT_THROW(KLController::fixed(-0.1), arlt::Error);
  EXPECT_THROW(KLController::adaptive(0.1, 0.0, 100.0), arlt::Error);
  EXPECT_THROW(KLController::adaptive(0.1, 6.0, 0.0), arlt::Error);
  auto c = KLController::adaptive(0.1, 6.0, 100.0);
  EXPECT_THROW(c.update(std::nan(""), 1), arlt::Error);
  EXPECT_THROW(c.update(1.0, -1), arlt::Error);
}

