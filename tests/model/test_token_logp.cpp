// model/token_logp.h: the policy's distribution at a temperature (the sampler's, the
// trainer's and the fused kernel's), the entropy formula, log-probs with and without autograd.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "arlt/model/token_logp.h"
#include "../test_util.h"

using namespace arlt;
using arlt::test::expect_close;
using arlt::test::max_abs_diff;

namespace {
constexpr auto F = torch::kFloat32;
}  // namespace

TEST(TokenLogp, EntropyByHand) {
  // [0, 0]: uniform over 2 -> ln2 = 0.6931472; [0, ln3]: p = 0.25, 0.75 ->
  // -(0.25 ln0.25 + 0.75 ln0.75) = 0.3465736 + 0.2157616 = 0.5623351; the same shifted by 1000 (stable);
  // [0, 0, -inf]: the masked entry has p = 0 and adds nothing -> ln2.
  const float inf = std::numeric_limits<float>::infinity();
  torch::Tensor logits = torch::tensor({{{0.0f, 0.0f, -inf}, {0.0f, std::log(3.0f), -inf}},
                                        {{1000.0f, 1000.0f + std::log(3.0f), -inf}, {0.0f, 0.0f, 0.0f}}});
  // Row [0,0,0]: uniform over 3 -> ln3 = 1.0986123.
  torch::Tensor h = model::entropy_from_logits(logits);
  expect_close(h, torch::tensor({{0.6931472, 0.5623351}, {0.5623351, 1.0986123}}, F));
}

TEST(TokenLogp, EntropyGradientByHand) {
  // dH/dl_i = -p_i (ln p_i + H). For [0, ln3]: p = 0.25, 0.75, H = 0.5623351:
  //   -0.25 * (-1.3862944 + 0.5623351) = 0.2059898; -0.75 * (-0.2876821 + 0.5623351) = -0.2059898.
  // A -inf logit gets a zero gradient, not nan.
  torch::Tensor l = torch::tensor({0.0f, std::log(3.0f), -std::numeric_limits<float>::infinity()}).requires_grad_(true);
  model::entropy_from_logits(l).backward();
  expect_close(l.grad(), torch::tensor({0.2059898, -0.2059898, 0.0}, F));
}

TEST(TokenLogp, TokenLogpAndEntropyEqualTorch) {
  torch::NoGradGuard ng;
  torch::manual_seed(6);
  torch::Tensor logits = torch::randn({3, 4, 1000}) * 4;
  logits.index_put_({0, 1, torch::indexing::Slice(0, 500)}, -std::numeric_limits<float>::infinity());  // masked vocabulary
  torch::Tensor target = torch::randint(500, 1000, {3, 4});
  for (double temp : {1.0, 0.7}) {
    auto [logp, ent] = model::token_logp_entropy(logits, target, {temp, true});
    ASSERT_TRUE(logp.defined() && ent.defined());
    torch::Tensor lsm = torch::log_softmax(logits.to(torch::kFloat64) / temp, -1);
    torch::Tensor want_logp = lsm.gather(-1, target.unsqueeze(-1)).squeeze(-1);
    torch::Tensor want_ent = -(lsm.exp() * lsm.nan_to_num(0, 0, 0)).sum(-1);
    EXPECT_LT(max_abs_diff(logp, want_logp), 1e-5) << temp;
    EXPECT_LT(max_abs_diff(ent, want_ent), 1e-5) << temp;
    EXPECT_FALSE(ent.isnan().any().item<bool>());
    auto [logp2, none] = model::token_logp_entropy(logits, target, {temp, false});
    EXPECT_TRUE(torch::equal(logp, logp2));
    EXPECT_FALSE(none.defined());
  }
  EXPECT_THROW(model::token_logp_entropy(logits, torch::full({3, 4}, 1000, torch::kInt64), {1.0, false}), std::out_of_range);
  // Autograd on: torch ops, the same numbers, and gradients reach the logits (the entropy's too
  // when entropy_grad asks for it).
  torch::AutoGradMode on(true);
  torch::Tensor l = logits.clone().requires_grad_(true);
  for (double temp : {1.0, 0.7}) {
    auto [fused_logp, fused_ent] = [&] {
      torch::NoGradGuard off;
      return model::token_logp_entropy(logits, target, {temp, true});
    }();
    auto [logp, ent] = model::token_logp_entropy(l, target, {temp, true, true});
    EXPECT_LT(max_abs_diff(logp, fused_logp), 1e-5) << temp;
    EXPECT_LT(max_abs_diff(ent, fused_ent), 1e-5) << temp;
    ASSERT_TRUE(logp.requires_grad() && ent.requires_grad());
    (logp.sum() + ent.sum()).backward();
    EXPECT_TRUE(torch::isfinite(l.grad()).all().item<bool>());
    l.grad().zero_();
    EXPECT_FALSE(model::token_logp_entropy(l, target, {temp, true, false}).second.requires_grad()) << "entropy as a metric is detached";
  }
  EXPECT_THROW(model::token_logp_entropy(logits, target.narrow(1, 0, 3), {}), std::invalid_argument);
}

TEST(TokenLogp, TemperatureDividesAndGreedyLeavesLogitsAlone) {
  torch::Tensor x = torch::tensor({1.0f, 2.0f, -3.0f});
  EXPECT_TRUE(torch::equal(model::temperature_scaled(x, 0.7), x / 0.7));
  EXPECT_TRUE(torch::equal(model::temperature_scaled(x, 1.0), x));
  EXPECT_TRUE(torch::equal(model::temperature_scaled(x, 0.0), x));
  // log softmax([1, 2, -3] / 0.5) = [2, 4, -6] - logsumexp = [2, 4, -6] - 4.1269680
  expect_close(model::temperature_log_softmax(x, 0.5), torch::tensor({-2.1269680, -0.1269680, -10.1269680}, F));
}
