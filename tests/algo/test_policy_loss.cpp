// Policy losses, aggregation modes and the value loss against numbers worked out by hand in the
// comments. Ratios are set exactly: logp = old_logp + ln(r).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "arlt/algo/policy_loss.h"
#include "arlt/base/error.h"
#include "../test_util.h"

using namespace arlt::algo;

namespace {

const auto F = torch::kFloat32;

using arlt::test::expect_close;

// log-probabilities whose ratio to old_logp = -1 is exactly `ratios`, as a leaf that wants a gradient.
torch::Tensor logp_for(const torch::Tensor& ratios) { return (ratios.log() - 1.0).detach().requires_grad_(true); }

// Row 0 has A = +1 and ratios 1.5 0.5 1.1; row 1 has A = -1 and ratios 4 0.5, then padding with
// ratio 100 and advantage -1 that must not count.
struct PpoCase {
  torch::Tensor logp = logp_for(torch::tensor({{1.5, 0.5, 1.1}, {4.0, 0.5, 100.0}}, F));
  torch::Tensor old_logp = torch::full({2, 3}, -1.0, F);
  torch::Tensor adv = torch::tensor({{1.0, 1.0, 1.0}, {-1.0, -1.0, -1.0}}, F);
  torch::Tensor mask = torch::tensor({{1.0, 1.0, 1.0}, {1.0, 1.0, 0.0}}, F);
};

}  // namespace

TEST(AlgoPolicyLoss, RegistryNames) {
  EXPECT_EQ(policy_losses(), (std::vector<std::string>{"gspo", "ppo"}));
  EXPECT_EQ(aggregation_modes(), (std::vector<std::string>{"token-mean", "seq-mean-token-sum", "seq-mean-token-mean",
                                                           "seq-mean-token-sum-norm"}));
}

TEST(AlgoPolicyLoss, PpoClipAndDualClip) {
  // clip 0.2, c = 3. Per token (pg1 = -A r, pg2 = -A clip(r, 0.8, 1.2), clip1 = max):
  //   row 0, A = 1: r 1.5: pg1 -1.5, pg2 -1.2 -> -1.2 (clipped); r 0.5: -0.5 vs -0.8 -> -0.5;
  //                 r 1.1: -1.1 vs -1.1 -> -1.1.
  //   row 1, A = -1: r 4: pg1 4, pg2 1.2 -> 4, then min(4, -A*c = 3) = 3 (dual clip);
  //                  r 0.5: 0.5 vs 0.8 -> 0.8 (clipped), min(0.8, 3) = 0.8.
  // token-mean: (-1.2 - 0.5 - 1.1 + 3 + 0.8) / 5 = 1.0 / 5 = 0.2.
  // clip_fraction 2/5 = 0.4; dual_clip_fraction 1/5 = 0.2;
  // approx_kl = mean(old - logp) = -ln(1.5 * 0.5 * 1.1 * 4 * 0.5) / 5 = -ln(1.65)/5 = -0.1001551.
  PpoCase c;
  auto out = policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, {});
  EXPECT_NEAR(out.loss.item<double>(), 0.2, 1e-6);
  EXPECT_NEAR(out.clip_fraction, 0.4, 1e-9);
  EXPECT_NEAR(out.dual_clip_fraction, 0.2, 1e-9);
  EXPECT_NEAR(out.approx_kl, -0.1001551, 1e-6);
  // d loss / d logp_t = -A r / 5 where the unclipped branch is taken, else 0:
  //   row 0: 0, -0.5/5 = -0.1, -1.1/5 = -0.22; row 1: 0 (dual clip is constant), 0 (clipped), 0 (padding).
  out.loss.backward();
  expect_close(c.logp.grad(), torch::tensor({{0.0, -0.1, -0.22}, {0.0, 0.0, 0.0}}, F));
}

TEST(AlgoPolicyLoss, DualClipOff) {
  // dual_clip = 0: row 1's r = 4 token keeps its loss 4: (-1.2 - 0.5 - 1.1 + 4 + 0.8)/5 = 0.4, and
  // its gradient is -A r / 5 = 4/5 = 0.8.
  PpoCase c;
  PolicyLossOptions opt;
  opt.dual_clip = 0;
  auto out = policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, opt);
  EXPECT_NEAR(out.loss.item<double>(), 0.4, 1e-6);
  EXPECT_EQ(out.dual_clip_fraction, 0.0);
  out.loss.backward();
  expect_close(c.logp.grad(), torch::tensor({{0.0, -0.1, -0.22}, {0.8, 0.0, 0.0}}, F));
}

TEST(AlgoPolicyLoss, GradientFlowsToLogpOnly) {
  PpoCase c;
  c.old_logp.requires_grad_(true);
  c.adv.requires_grad_(true);
  auto out = policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, {});
  out.loss.backward();
  EXPECT_TRUE(c.logp.grad().defined());
  EXPECT_FALSE(c.old_logp.grad().defined());
  EXPECT_FALSE(c.adv.grad().defined());
}

TEST(AlgoPolicyLoss, ClipHighAndClipLowAreSeparate) {
  // One row: r = 1.25 with A = +1, r = 0.75 with A = -1.
  //   (0.2, 0.2): 1.25 -> clip 1.2: max(-1.25, -1.2) = -1.2 (clipped); 0.75 -> 0.8: max(0.75, 0.8) = 0.8
  //               (clipped): (-1.2 + 0.8)/2 = -0.2, clip_fraction 1.
  //   clip_high 0.28: 1.25 is inside [0.8, 1.28]: -1.25; the low side still clips: (-1.25 + 0.8)/2 = -0.225, 0.5.
  //   clip_low 0.3: the high side clips (-1.2); 0.75 is inside [0.7, 1.2]: 0.75: (-1.2 + 0.75)/2 = -0.225, 0.5.
  torch::Tensor old = torch::full({1, 2}, -1.0, F), mask = torch::ones({1, 2}, F);
  torch::Tensor adv = torch::tensor({{1.0, -1.0}}, F);
  torch::Tensor logp = logp_for(torch::tensor({{1.25, 0.75}}, F));
  PolicyLossOptions opt;
  auto out = policy_loss("ppo", logp, old, adv, mask, opt);
  EXPECT_NEAR(out.loss.item<double>(), -0.2, 1e-6);
  EXPECT_NEAR(out.clip_fraction, 1.0, 1e-9);
  opt.clip_high = 0.28;
  out = policy_loss("ppo", logp, old, adv, mask, opt);
  EXPECT_NEAR(out.loss.item<double>(), -0.225, 1e-6);
  EXPECT_NEAR(out.clip_fraction, 0.5, 1e-9);
  opt.clip_high = 0.2;
  opt.clip_low = 0.3;
  out = policy_loss("ppo", logp, old, adv, mask, opt);
  EXPECT_NEAR(out.loss.item<double>(), -0.225, 1e-6);
  EXPECT_NEAR(out.clip_fraction, 0.5, 1e-9);
}

TEST(AlgoPolicyLoss, AggregationThroughOptions) {
  // Per-token losses of PpoCase: row 0 -1.2 -0.5 -1.1, row 1 3 0.8.
  //   token-mean over a mini-batch of 10 tokens: 1.0 / 10 = 0.1.
  //   seq-mean-token-mean: (-2.8/3 + 3.8/2) / 2 = (-0.9333333 + 1.9)/2 = 0.4833333.
  PpoCase c;
  PolicyLossOptions opt;
  opt.aggregation.norm_tokens = 10;
  EXPECT_NEAR(policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, opt).loss.item<double>(), 0.1, 1e-6);
  opt = {};
  opt.aggregation.mode = "seq-mean-token-mean";
  EXPECT_NEAR(policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, opt).loss.item<double>(), 0.4833333, 1e-6);
}

TEST(AlgoPolicyLoss, GspoSequenceRatio) {
  // Row 0: mask 1 1 0, log ratios ln2, 0 (padding 2.0 ignored): s = ln2/2, ratio sqrt2 = 1.4142136 on
  //   both tokens; A = +1: max(-1.4142136, -1.2) = -1.2, both clipped.
  // Row 1: mask 1 1 1, log ratios ln0.9 ln0.9 0: s = 2 ln0.9 / 3, ratio 0.9^(2/3) = 0.9321698 on all
  //   three; A = -1: max(0.9321698, clip -> 0.9321698) = 0.9321698, not clipped.
  // token-mean (-1.2*2 + 0.9321698*3)/5 = 0.0793019; clip_fraction 2/5;
  // approx_kl = -(ln2 + 2 ln0.9)/5 = -(0.6931472 - 0.2107210)/5 = -0.0964852.
  // Gradient: every token of a row carries the row's ratio as its own d r_t / d logp_t: row 0 clipped
  //   -> 0; row 1: -A * 0.9321698 / 5 = 0.1864340 on each token (PPO would give 0.18, 0.18, 0.2).
  torch::Tensor logp = (torch::tensor({{std::log(2.0), 0.0, 2.0}, {std::log(0.9), std::log(0.9), 0.0}}, F) - 1.0)
                           .detach().requires_grad_(true);
  torch::Tensor old = torch::full({2, 3}, -1.0, F);
  torch::Tensor adv = torch::tensor({{1.0, 1.0, 1.0}, {-1.0, -1.0, -1.0}}, F);
  torch::Tensor mask = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 1.0, 1.0}}, F);
  auto out = policy_loss("gspo", logp, old, adv, mask, {});
  EXPECT_NEAR(out.loss.item<double>(), 0.0793019, 1e-6);
  EXPECT_NEAR(out.clip_fraction, 0.4, 1e-9);
  EXPECT_EQ(out.dual_clip_fraction, 0.0);
  EXPECT_NEAR(out.approx_kl, -0.0964852, 1e-6);
  out.loss.backward();
  expect_close(logp.grad(), torch::tensor({{0.0, 0.0, 0.0}, {0.1864340, 0.1864340, 0.1864340}}, F));
}

TEST(AlgoPolicyLoss, GspoEqualsPpoWhenARowHasOneLogRatio) {
  // If every generated token of row i has log ratio c_i, then s_i = c_i: the token ratio is
  // exp(c_i) in both losses, and d exp(s_i + logp_t - sg logp_t)/d logp_t = exp(c_i) = d exp(logp_t - old_t)/d logp_t.
  // So values and gradients agree, dual clip included (row 1, ratio 4 with A = -1). Padding
  // (row 0, t2) has another ratio, which must not matter.
  torch::Tensor lr = torch::tensor({{std::log(1.1), std::log(1.1), 3.0}, {std::log(4.0), std::log(4.0), std::log(4.0)}}, F);
  torch::Tensor old = torch::tensor({{-0.5, -2.0, -1.0}, {-3.0, -0.1, -1.5}}, F);
  torch::Tensor adv = torch::tensor({{1.0, -1.0, 2.0}, {-1.0, 0.5, 1.0}}, F);
  torch::Tensor mask = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 1.0, 1.0}}, F);
  for (const auto& mode : aggregation_modes()) {
    PolicyLossOptions opt;
    opt.aggregation.mode = mode;
    torch::Tensor lp = (old + lr).detach().requires_grad_(true), lg = (old + lr).detach().requires_grad_(true);
    auto p = policy_loss("ppo", lp, old, adv, mask, opt);
    auto g = policy_loss("gspo", lg, old, adv, mask, opt);
    p.loss.backward();
    g.loss.backward();
    EXPECT_NEAR(p.loss.item<double>(), g.loss.item<double>(), 1e-6) << mode;
    EXPECT_NEAR(p.clip_fraction, g.clip_fraction, 1e-9) << mode;
    EXPECT_NEAR(p.dual_clip_fraction, g.dual_clip_fraction, 1e-9) << mode;
    EXPECT_GT(g.dual_clip_fraction, 0.0);
    expect_close(lg.grad(), lp.grad(), 1e-6);
  }
}

TEST(AlgoPolicyLoss, BadNamesAndOptionsAreErrors) {
  PpoCase c;
  try {
    policy_loss("grpo", c.logp, c.old_logp, c.adv, c.mask, {});
    FAIL() << "no error";
  } catch (const arlt::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'grpo'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gspo, ppo"), std::string::npos) << msg;
  }
  PolicyLossOptions opt;
  opt.aggregation.mode = "mean";
  try {
    policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, opt);
    FAIL() << "no error";
  } catch (const arlt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'mean'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("seq-mean-token-sum-norm"), std::string::npos) << e.what();
  }
  opt = {};
  opt.dual_clip = 0.5;
  EXPECT_THROW(policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask, opt), arlt::Error);
  EXPECT_THROW(policy_loss("ppo", c.logp, c.old_logp, c.adv, c.mask.slice(1, 0, 2), {}), arlt::Error);
  EXPECT_THROW(policy_loss("ppo", c.logp, c.old_logp.view({6}), c.adv, c.mask, {}), arlt::Error);
}

// Three rows of 4 tokens; mask rows 1 1 0 0 | 1 1 1 1 | 1 0 0 0. The masked losses are 1 2 | 3 4 5 6 | 7
// (sum 28 over 7 tokens); padding holds nan and must not count.
TEST(AlgoAggregation, EveryModeByHand) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  torch::Tensor loss = torch::tensor({{1.0f, 2.0f, nan, nan}, {3.0f, 4.0f, 5.0f, 6.0f}, {7.0f, nan, nan, nan}});
  torch::Tensor mask = torch::tensor({{1.0, 1.0, 0.0, 0.0}, {1.0, 1.0, 1.0, 1.0}, {1.0, 0.0, 0.0, 0.0}}, F);
  auto agg = [&](const std::string& mode, double nt = 0, double ns = 0, double ml = 0) {
    return aggregate_loss(loss, mask, {mode, nt, ns, ml}).item<double>();
  };
  EXPECT_NEAR(agg("token-mean"), 28.0 / 7, 1e-6);                   // 4
  EXPECT_NEAR(agg("token-mean", 14), 28.0 / 14, 1e-6);              // 2: the mini-batch has 14 tokens
  EXPECT_NEAR(agg("seq-mean-token-sum"), (3 + 18 + 7) / 3.0, 1e-5);  // 9.3333333
  EXPECT_NEAR(agg("seq-mean-token-sum", 0, 4), 28.0 / 4, 1e-6);     // 7
  EXPECT_NEAR(agg("seq-mean-token-mean"), (1.5 + 4.5 + 7) / 3, 1e-5);  // 4.3333333
  EXPECT_NEAR(agg("seq-mean-token-mean", 0, 2), 13.0 / 2, 1e-6);       // 6.5
  EXPECT_NEAR(agg("seq-mean-token-sum-norm"), 28.0 / (3 * 4), 1e-5);    // 2.3333333: S = 3 rows, L = T = 4
  EXPECT_NEAR(agg("seq-mean-token-sum-norm", 0, 0, 7), 28.0 / 21, 1e-5);  // 1.3333333: L = 7
  EXPECT_NEAR(agg("seq-mean-token-sum-norm", 0, 2, 7), 28.0 / 14, 1e-6);  // 2
}

TEST(AlgoAggregation, EmptyMaskAndEmptyRowGiveNoNan) {
  torch::Tensor loss = torch::ones({2, 3}, F);
  for (const auto& mode : aggregation_modes())
    EXPECT_EQ(aggregate_loss(loss, torch::zeros({2, 3}, F), {mode}).item<double>(), 0.0) << mode;
  // Row 1 is empty: seq-mean-token-mean = (1 + 0) / 2 rows = 0.5.
  torch::Tensor mask = torch::tensor({{1.0, 1.0, 0.0}, {0.0, 0.0, 0.0}}, F);
  EXPECT_NEAR(aggregate_loss(loss, mask, {"seq-mean-token-mean"}).item<double>(), 0.5, 1e-7);
  EXPECT_THROW(aggregate_loss(loss, mask, {"sum"}), arlt::Error);
}

TEST(AlgoValueLoss, ClippedValueLossByHand) {
  // clip_range 0.2. Tokens (v, old, R):
  //   (1.0, 0.5, 1.0): clip(1.0, 0.3, 0.7) = 0.7; l1 = 0, l2 = 0.09 -> 0.09 (clipped counts);
  //   (0.0, 0.1, 1.0): 0.0 inside [-0.1, 0.3]; l1 = l2 = 1 -> 1;
  //   (2.0, 1.0, 0.0): clip -> 1.2; l1 = 4, l2 = 1.44 -> 4;
  //   padding (100, 0, -100) ignored.
  // token-mean: 0.5 * (0.09 + 1 + 4)/3 = 0.8483333; clip_fraction 1/3.
  // seq-mean-token-sum: 0.5 * ((0.09 + 1) + 4)/2 = 1.2725.
  torch::Tensor v = torch::tensor({{1.0, 0.0}, {2.0, 100.0}}, F).requires_grad_(true);
  torch::Tensor old = torch::tensor({{0.5, 0.1}, {1.0, 0.0}}, F).requires_grad_(true);
  torch::Tensor R = torch::tensor({{1.0, 1.0}, {0.0, -100.0}}, F);
  torch::Tensor mask = torch::tensor({{1.0, 1.0}, {1.0, 0.0}}, F);
  auto out = value_loss(v, old, R, mask, 0.2);
  EXPECT_NEAR(out.loss.item<double>(), 0.8483333, 1e-6);
  EXPECT_NEAR(out.clip_fraction, 1.0 / 3, 1e-9);
  // d/dv: clipped token 0; (v - R)/3 elsewhere: (0 - 1)/3 = -0.3333333, (2 - 0)/3 = 0.6666667; padding 0.
  out.loss.backward();
  expect_close(v.grad(), torch::tensor({{0.0, -0.3333333}, {0.6666667, 0.0}}, F));
  EXPECT_FALSE(old.grad().defined());
  EXPECT_NEAR(value_loss(v, old, R, mask, 0.2, {"seq-mean-token-sum"}).loss.item<double>(), 1.2725, 1e-6);
  EXPECT_THROW(value_loss(v, old, R, mask, -0.1), arlt::Error);
  EXPECT_THROW(value_loss(v, old, R, mask, 0.2, {"bad-mode"}), arlt::Error);
}
