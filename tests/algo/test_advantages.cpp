// Advantage estimators against numbers worked out by hand in the comments. Masks carry padding
// (and, for the token estimators, an interior 0 standing for a tool observation).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "arlt/algo/advantages.h"
#include "arlt/base/error.h"
#include "../test_util.h"

using namespace arlt::algo;

namespace {

const auto F = torch::kFloat32;

using arlt::test::expect_close;

// Four responses: rows 0, 2, 3 answer prompt 5, row 1 alone answers prompt 9 (ids are arbitrary).
// Group 5 scores {3, 0, 0}: mean 1, Bessel variance ((2)^2 + 1 + 1) / 2 = 3, std sqrt(3) = 1.7320508.
AdvantageInput outcome_batch() {
  AdvantageInput in;
  in.scores = torch::tensor({3.0, 2.0, 0.0, 0.0}, F);
  in.group = torch::tensor({5, 9, 5, 5}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 1.0, 1.0}, {1.0, 0.0, 0.0}, {1.0, 1.0, 0.0}}, F);
  return in;
}

}  // namespace

TEST(AlgoAdvantages, RegistryNames) {
  std::vector<std::string> want = {"gae", "grpo", "reinforce_plus_plus", "reinforce_plus_plus_baseline", "rloo"};
  EXPECT_EQ(advantage_estimators(), want);
}

TEST(AlgoAdvantages, GrpoNormalisesByGroupStd) {
  // row 0: (3-1)/(sqrt3+1e-6) = 1.1546999; rows 2, 3: (0-1)/(sqrt3+1e-6) = -0.5773499;
  // row 1, a group of one: mean 0, std 1 (verl): (2-0)/(1+1e-6) = 1.999998.
  auto out = compute_advantages("grpo", outcome_batch(), {});
  const double a = 1.1546999, b = -0.5773499, c = 1.999998;
  torch::Tensor want = torch::tensor({{a, a, 0.0}, {c, c, c}, {b, 0.0, 0.0}, {b, b, 0.0}}, F);
  expect_close(out.advantages, want);
  expect_close(out.returns, want);
}

TEST(AlgoAdvantages, DrGrpoSubtractsTheMeanOnly) {
  // norm_by_std = false: row 0: 3-1 = 2, rows 2, 3: 0-1 = -1, row 1 alone: 2-0 = 2.
  AdvantageOptions opt;
  opt.norm_by_std = false;
  auto out = compute_advantages("grpo", outcome_batch(), opt);
  expect_close(out.advantages, torch::tensor({{2.0, 2.0, 0.0}, {2.0, 2.0, 2.0}, {-1.0, 0.0, 0.0}, {-1.0, -1.0, 0.0}}, F));
}

TEST(AlgoAdvantages, GrpoEqualRewardsGiveZero) {
  // {0.7, 0.7, 0.7}: score - mean = 0 and std = 0, so 0 / (0 + eps) = 0 on every token.
  AdvantageInput in;
  in.scores = torch::tensor({0.7, 0.7, 0.7}, F);
  in.group = torch::tensor({1, 1, 1}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 0.0, 0.0}, {1.0, 1.0, 1.0}}, F);
  auto out = compute_advantages("grpo", in, {});
  EXPECT_TRUE(out.advantages.eq(0).all().item<bool>()) << out.advantages;
}

TEST(AlgoAdvantages, GrpoCountsTokenRewardsInTheScore) {
  // As verl sums token_level_rewards: row 0 = 1 + (-0.5 - 0.5) = 0 (the 9 sits on padding and is
  // ignored), row 1 = 1 + 0 = 1. mean 0.5, std sqrt((0.25+0.25)/1) = 0.7071068:
  // -+0.5 / (0.7071068 + 1e-6) = -+0.7071058.
  AdvantageInput in;
  in.scores = torch::tensor({1.0, 1.0}, F);
  in.group = torch::tensor({0, 0}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 1.0, 1.0}}, F);
  in.token_rewards = torch::tensor({{-0.5, -0.5, 9.0}, {0.0, 0.0, 0.0}}, F);
  auto out = compute_advantages("grpo", in, {});
  const double a = 0.7071058;
  expect_close(out.advantages, torch::tensor({{-a, -a, 0.0}, {a, a, a}}, F));
}

TEST(AlgoAdvantages, RlooUsesTheMeanOfTheOthers) {
  // Group 5 {3, 0, 0}: row 0: 3 - (0+0)/2 = 3; rows 2, 3: 0 - (3+0)/2 = -1.5; row 1 alone: 2 unchanged.
  auto out = compute_advantages("rloo", outcome_batch(), {});
  torch::Tensor want = torch::tensor({{3.0, 3.0, 0.0}, {2.0, 2.0, 2.0}, {-1.5, 0.0, 0.0}, {-1.5, -1.5, 0.0}}, F);
  expect_close(out.advantages, want);
  expect_close(out.returns, want);
}

TEST(AlgoAdvantages, ReinforcePlusPlusDiscountsOverGeneratedTokens) {
  // gamma 0.5. Row 0: mask 1 1 1 0, token terms -0.1 0 -0.1 (pad 5 ignored), score 1 on t2:
  //   r = -0.1, 0, 0.9 -> G2 = 0.9, G1 = 0 + 0.5*0.9 = 0.45, G0 = -0.1 + 0.5*0.45 = 0.125.
  // Row 1: mask 1 0 1 1 (t1 is an observation: no reward, no step, does not cut the sum),
  //   token terms 0 (7 on the observation ignored) 0 -0.2, score 2 on t3: r3 = 1.8 ->
  //   G3 = 1.8, G2 = 0.9, G0 = 0 + 0.5*0.9 = 0.45.
  // Whitening the six returns 0.125 0.45 0.9 0.45 0.9 1.8: mean 4.625/6 = 0.7708333,
  //   squared deviations 0.4171007 0.1029340 0.0166840 0.1029340 0.0166840 1.0591840 = 1.7155208,
  //   Bessel var 1.7155208/5 = 0.3431042, std 0.5857510:
  //   (0.125-0.7708333)/0.5857510 = -1.1025733, (0.45-..) = -0.5477299, (0.9-..) = 0.2205147, (1.8-..) = 1.7570038.
  AdvantageInput in;
  in.scores = torch::tensor({1.0, 2.0}, F);
  in.group = torch::tensor({0, 1}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 1.0, 1.0, 0.0}, {1.0, 0.0, 1.0, 1.0}}, F);
  in.token_rewards = torch::tensor({{-0.1, 0.0, -0.1, 5.0}, {0.0, 7.0, 0.0, -0.2}}, F);
  AdvantageOptions opt;
  opt.gamma = 0.5;
  auto out = compute_advantages("reinforce_plus_plus", in, opt);
  expect_close(out.returns, torch::tensor({{0.125, 0.45, 0.9, 0.0}, {0.45, 0.0, 0.9, 1.8}}, F));
  expect_close(out.advantages,
               torch::tensor({{-1.1025733, -0.5477299, 0.2205147, 0.0}, {-0.5477299, 0.0, 0.2205147, 1.7570038}}, F));
}

TEST(AlgoAdvantages, ReinforcePlusPlusBaselineSubtractsTheGroupMean) {
  // Groups {1: rows 0, 1}, {2: row 2 alone}; scores 1, 0, 4. Row 0: 1 - 0.5 = 0.5, row 1: 0 - 0.5 = -0.5,
  // row 2: mean 0 for a group of one (verl) -> 4. gamma 1, no token terms: broadcast over the tokens.
  // Six returns 0.5 0.5 -0.5 -0.5 -0.5 4: mean 3.5/6 = 0.5833333; squared deviations
  //   2*0.0069444 + 3*1.1736111 + 11.6736111 = 15.2083333; Bessel var 3.0416667, std 1.7440372:
  //   (0.5-0.5833333)/1.7440372 = -0.0477819, (-0.5-..) = -0.6211640, (4-..) = 1.9590558.
  AdvantageInput in;
  in.scores = torch::tensor({1.0, 0.0, 4.0}, F);
  in.group = torch::tensor({1, 1, 2}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 1.0, 1.0}, {1.0, 0.0, 0.0}}, F);
  auto out = compute_advantages("reinforce_plus_plus_baseline", in, {});
  expect_close(out.returns, torch::tensor({{0.5, 0.5, 0.0}, {-0.5, -0.5, -0.5}, {4.0, 0.0, 0.0}}, F));
  expect_close(out.advantages,
               torch::tensor({{-0.0477819, -0.0477819, 0.0}, {-0.6211640, -0.6211640, -0.6211640}, {1.9590558, 0.0, 0.0}}, F));

  // With a token term -1 on row 1's t1: row 1's rewards 0, -1, -0.5 -> returns -1.5, -1.5, -0.5.
  // Six returns 0.5 0.5 -1.5 -1.5 -0.5 4: mean 0.25; squared deviations 0.0625*2 + 3.0625*2 + 0.5625
  //   + 14.0625 = 20.875; Bessel var 4.175, std 2.0432816: 0.25/2.0432816 = 0.1223522,
  //   -1.75/.. = -0.8564654, -0.75/.. = -0.3670566, 3.75/.. = 1.8352829.
  in.token_rewards = torch::tensor({{0.0, 0.0, 0.0}, {0.0, -1.0, 0.0}, {0.0, 0.0, 0.0}}, F);
  out = compute_advantages("reinforce_plus_plus_baseline", in, {});
  expect_close(out.returns, torch::tensor({{0.5, 0.5, 0.0}, {-1.5, -1.5, -0.5}, {4.0, 0.0, 0.0}}, F));
  expect_close(out.advantages,
               torch::tensor({{0.1223522, 0.1223522, 0.0}, {-0.8564654, -0.8564654, -0.3670566}, {1.8352829, 0.0, 0.0}}, F));
}

TEST(AlgoAdvantages, GaeAgainstHandRecursion) {
  // gamma 1, lam 0.5. Row 0: mask 1 1 1, V = 0.5 0.5 0.5, score 1 on t2:
  //   t2: delta = 1 + 0 - 0.5 = 0.5, A2 = 0.5; t1: delta = 0 + 0.5 - 0.5 = 0, A1 = 0 + 0.5*0.5 = 0.25;
  //   t0: delta 0, A0 = 0.125. returns = A + V = 0.625 0.75 1.0.
  // Row 1: mask 1 1 0, V = 0.2 0.4 (9 on padding ignored), score 0:
  //   t1: delta = 0 + 0 - 0.4 = -0.4, A1 = -0.4; t0: delta = 0 + 0.4 - 0.2 = 0.2, A0 = 0.2 + 0.5*(-0.4) = 0.
  //   returns 0.2 0.0.
  // Whitening 0.125 0.25 0.5 0 -0.4: mean 0.095; squared deviations 0.0009 0.024025 0.164025 0.009025
  //   0.245025 = 0.443; Bessel var 0.11075, std 0.3327912: 0.03/.. = 0.0901466, 0.155/.. = 0.4657575,
  //   0.405/.. = 1.2169792, -0.095/.. = -0.2854642, -0.495/.. = -1.4874190.
  AdvantageInput in;
  in.scores = torch::tensor({1.0, 0.0}, F);
  in.group = torch::tensor({0, 1}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 1.0, 1.0}, {1.0, 1.0, 0.0}}, F);
  in.values = torch::tensor({{0.5, 0.5, 0.5}, {0.2, 0.4, 9.0}}, F);
  AdvantageOptions opt;
  opt.lam = 0.5;
  auto out = compute_advantages("gae", in, opt);
  expect_close(out.returns, torch::tensor({{0.625, 0.75, 1.0}, {0.2, 0.0, 0.0}}, F));
  expect_close(out.advantages, torch::tensor({{0.0901466, 0.4657575, 1.2169792}, {-0.2854642, -1.4874190, 0.0}}, F));
}

TEST(AlgoAdvantages, GaeSkipsObservationTokens) {
  // gamma 0.5, lam 1; mask 1 0 1: the observation's value 100 is never read.
  //   t2: delta = 4 + 0 - 2 = 2, A2 = 2; t0: next value is V2 = 2: delta = 0 + 0.5*2 - 1 = 0,
  //   A0 = 0 + 0.5*1*2 = 1. returns = 1+1, 0, 2+2 = 2 0 4.
  // Whitening {1, 2}: mean 1.5, Bessel var (0.25+0.25)/1 = 0.5, std 0.7071068 -> -0.7071068, 0.7071068.
  AdvantageInput in;
  in.scores = torch::tensor({4.0}, F);
  in.group = torch::tensor({0}, torch::kInt64);
  in.mask = torch::tensor({{1.0, 0.0, 1.0}}, F);
  in.values = torch::tensor({{1.0, 100.0, 2.0}}, F);
  AdvantageOptions opt;
  opt.gamma = 0.5;
  auto out = compute_advantages("gae", in, opt);
  expect_close(out.returns, torch::tensor({{2.0, 0.0, 4.0}}, F));
  expect_close(out.advantages, torch::tensor({{-0.7071068, 0.0, 0.7071068}}, F));
}

TEST(AlgoAdvantages, OutputsAreZeroOnPaddingForEveryEstimator) {
  AdvantageInput in = outcome_batch();
  in.values = torch::full({4, 3}, 0.3, F);
  // nan on padding only: it must not reach any sum.
  in.token_rewards = torch::where(in.mask != 0, torch::zeros_like(in.mask),
                                  torch::full({4, 3}, std::numeric_limits<float>::quiet_NaN(), F));
  for (const auto& name : advantage_estimators()) {
    auto out = compute_advantages(name, in, {});
    EXPECT_TRUE(out.advantages.masked_select(in.mask == 0).eq(0).all().item<bool>()) << name << "\n" << out.advantages;
    EXPECT_TRUE(out.returns.masked_select(in.mask == 0).eq(0).all().item<bool>()) << name << "\n" << out.returns;
    EXPECT_TRUE(torch::isfinite(out.advantages).all().item<bool>()) << name;
    EXPECT_FALSE(out.advantages.requires_grad()) << name;
  }
}

TEST(AlgoAdvantages, UnknownNameListsTheValidOnes) {
  try {
    compute_advantages("ppo_gae", outcome_batch(), {});
    FAIL() << "no error";
  } catch (const arlt::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'ppo_gae'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("grpo"), std::string::npos) << msg;
    EXPECT_NE(msg.find("reinforce_plus_plus_baseline"), std::string::npos) << msg;
  }
}

TEST(AlgoAdvantages, BadShapesAndOptionsAreErrors) {
  auto expect_error = [](const AdvantageInput& in, const std::string& name, const std::string& needle,
                         AdvantageOptions opt = {}) {
    try {
      compute_advantages(name, in, opt);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const arlt::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  AdvantageInput in = outcome_batch();
  expect_error(in, "gae", "values");  // gae without values
  in.values = torch::zeros({4, 2});
  expect_error(in, "gae", "values");  // wrong shape
  in = outcome_batch();
  in.scores = in.scores.view({4, 1});
  expect_error(in, "grpo", "scores");
  in = outcome_batch();
  in.group = torch::tensor({5, 9, 5}, torch::kInt64);
  expect_error(in, "grpo", "group");
  in = outcome_batch();
  in.group = torch::tensor({5.0, 9.0, 5.0, 5.0});
  expect_error(in, "grpo", "group");
  in = outcome_batch();
  in.mask = torch::ones({4});
  expect_error(in, "grpo", "mask");
  in = outcome_batch();
  in.token_rewards = torch::zeros({4, 4});
  expect_error(in, "rloo", "token_rewards");
  AdvantageOptions opt;
  opt.gamma = 1.5;
  expect_error(outcome_batch(), "reinforce_plus_plus", "gamma", opt);
}
