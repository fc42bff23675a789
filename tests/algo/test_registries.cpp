// The algorithm registries are open: an advantage estimator, a policy loss and a KL estimator
// registered from outside their files are used by name like the built-ins; unknown names are
// errors with a did-you-mean.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "../test_fs.h"
#include "arlt/algo/advantages.h"
#include "arlt/algo/kl.h"
#include "arlt/algo/policy_loss.h"
#include "arlt/base/error.h"

using namespace arlt;

namespace {
bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

using arlt::test::error_of;
}  // namespace

TEST(AlgoRegistries, AdvantageEstimatorFromOutside) {
  // "sign": A = sign(score) on every generated token; reads no option.
  algo::register_advantage_estimator("test_sign", {[](const algo::AdvantageInput& in, const algo::AdvantageOptions&) {
                                                     torch::Tensor a = torch::sign(in.scores).unsqueeze(1) * in.mask;
                                                     return algo::AdvantageOutput{a, a};
                                                   },
                                                   {}, false, false});
  EXPECT_TRUE(has(algo::advantage_estimators(), "test_sign"));
  algo::AdvantageInput in;
  in.scores = torch::tensor({2.0f, -0.5f});
  in.group = torch::tensor({0, 0}, torch::kInt64);
  in.mask = torch::tensor({{1.0f, 1.0f, 0.0f}, {1.0f, 0.0f, 0.0f}});
  auto out = algo::compute_advantages("test_sign", in, {});
  EXPECT_TRUE(torch::equal(out.advantages, torch::tensor({{1.0f, 1.0f, 0.0f}, {-1.0f, 0.0f, 0.0f}})));
  // What the built-ins declare: the options they read and what they need.
  EXPECT_EQ(algo::advantage_estimator("grpo").options, (std::vector<std::string>{"norm_by_std", "eps"}));
  EXPECT_TRUE(algo::advantage_estimator("rloo").grouped);
  EXPECT_FALSE(algo::advantage_estimator("reinforce_plus_plus").grouped);
  EXPECT_TRUE(algo::advantage_estimator("gae").needs_values);
  const std::string e = error_of([] { algo::advantage_estimator("gpro"); });
  EXPECT_NE(e.find("unknown advantage estimator 'gpro'"), std::string::npos) << e;
  EXPECT_NE(e.find("grpo"), std::string::npos) << e;
  EXPECT_NE(error_of([] { algo::register_advantage_estimator("bad name", {}); }), "");
  EXPECT_NE(error_of([] { algo::register_advantage_estimator("empty", {}); }), "");
}

TEST(AlgoRegistries, PolicyLossAndKLEstimatorFromOutside) {
  // A ratio fixed at 1: the loss is -A averaged over tokens (token-mean), clipping never binds.
  algo::register_policy_loss("test_unit_ratio", [](const torch::Tensor& logp, const torch::Tensor&, const torch::Tensor&, double) {
    return torch::ones_like(logp) + logp - logp.detach();
  });
  EXPECT_TRUE(has(algo::policy_losses(), "test_unit_ratio"));
  torch::Tensor logp = torch::zeros({1, 2}, torch::requires_grad()), mask = torch::ones({1, 2});
  auto pl = algo::policy_loss("test_unit_ratio", logp, torch::zeros({1, 2}), torch::tensor({{1.0f, 3.0f}}), mask, {});
  EXPECT_NEAR(pl.loss.item<double>(), -2.0, 1e-6);  // -(1 + 3) / 2
  algo::register_kl_estimator("test_double_k1", [](const torch::Tensor& lp, const torch::Tensor& ref) { return 2 * (lp - ref); });
  EXPECT_TRUE(has(algo::kl_estimators(), "test_double_k1"));
  EXPECT_TRUE(torch::equal(algo::kl_penalty(torch::tensor({1.0f}), torch::tensor({0.25f}), "test_double_k1"), torch::tensor({1.5f})));
  EXPECT_NE(error_of([] { algo::kl_penalty(torch::zeros({1}), torch::zeros({1}), "k4"); }).find("did you mean"), std::string::npos);
}
