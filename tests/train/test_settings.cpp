// train/settings.h: one typed struct per config section. The schema comes from the structs, a
// resolved config parses back into them, the examples carry the defaults, and the values no type
// can rule out are errors naming their key.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "../test_fs.h"
#include "arlt/base/error.h"
#include "arlt/config/config.h"
#include "arlt/train/optim.h"
#include "arlt/train/settings.h"

using namespace arlt;
using train::Json;

namespace {
const std::string kSrc = ARLT_SOURCE_DIR;

using arlt::test::error_of;

train::RLConfig rl_with(const std::vector<std::string>& overrides) {
  return train::RLConfig::parse(config::load_config(train::rl_defaults(), "", overrides));
}

// Every leaf of `j` as "a.b.c" -> value.
void leaves(const Json& j, const std::string& prefix, std::map<std::string, Json>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().is_object() && !it.value().empty() && !it.value().contains("*")) leaves(it.value(), p, out);
    else out[p] = it.value();
  }
}
}  // namespace

TEST(TrainSettings, DefaultsComeFromTheStructsAndParseBack) {
  const Json d = train::rl_defaults();
  EXPECT_EQ(d["trainer"]["weight_decay"], 0.0) << "RL: no weight decay (one default, not optim.h's 0.01)";
  EXPECT_EQ(d["algorithm"]["loss_agg"], "token-mean");
  EXPECT_EQ(d["data"]["task_params"], Json::object({{"*", nullptr}}));
  EXPECT_EQ(d["rollout"]["stop"], Json::array({""}));
  EXPECT_EQ(d["trainer"]["betas"], Json::array({0.9, 0.999}));
  const train::RLConfig c = train::RLConfig::parse(config::load_config(d, "", {}));
  EXPECT_EQ(c.trainer.optim.weight_decay, 0.0);
  EXPECT_EQ(c.algorithm.loss_aggregation, "token-mean");
  EXPECT_EQ(c.rollouts_per_update(), 16 * 8);
  const Json s = train::sft_defaults();
  EXPECT_EQ(s["trainer"]["weight_decay"], 0.01);
  EXPECT_EQ(s["trainer"]["lr"], 1e-3);
  EXPECT_EQ(s["run"]["out"], "runs/sft");
  const train::SFTConfig sc = train::SFTConfig::parse(config::load_config(s, "", {}));
  EXPECT_EQ(sc.trainer.optim.beta2, 0.95);
  EXPECT_EQ(sc.data.max_len, 256);
}

TEST(TrainSettings, OverridesReachTheTypedFields) {
  const train::RLConfig c = rl_with({"trainer.lr=3e-4", "trainer.betas=[0.8, 0.99]", "rollout.stop=['</answer>', '']",
                                     "data.task_params={digits: 3}", "algorithm.loss_agg=seq-mean-token-mean", "run.seed=7"});
  EXPECT_EQ(c.trainer.optim.lr, 3e-4);
  EXPECT_EQ(c.trainer.optim.beta1, 0.8);
  EXPECT_EQ(c.trainer.optim.beta2, 0.99);
  EXPECT_EQ(c.rollout.stop, (std::vector<std::string>{"</answer>", ""}));
  EXPECT_EQ(c.data.task_params.value, Json::object({{"digits", 3}}));
  EXPECT_EQ(c.algorithm.loss_aggregation, "seq-mean-token-mean");
  EXPECT_EQ(c.run.seed, 7u);
}

TEST(TrainSettings, ExampleGrpoCarriesEveryDefault) {
  // examples/grpo.yaml lists every key with its default, except the run folder.
  std::map<std::string, Json> want, have;
  leaves(train::rl_defaults(), "", want);
  leaves(config::load_config(train::rl_defaults(), kSrc + "/examples/grpo.yaml", {}), "", have);
  for (const auto& [k, v] : want) {
    if (k == "run.out") continue;
    ASSERT_TRUE(have.count(k)) << k;
    if (k == "data.task_params") EXPECT_EQ(have[k], Json::object()) << k;
    else EXPECT_EQ(have[k], v) << "examples/grpo.yaml: " << k << " is " << have[k] << ", the default is " << v;
  }
  std::map<std::string, Json> sft_want, sft_have;
  leaves(train::sft_defaults(), "", sft_want);
  leaves(config::load_config(train::sft_defaults(), kSrc + "/examples/sft.yaml", {}), "", sft_have);
  for (const auto& [k, v] : sft_want) EXPECT_TRUE(sft_have.count(k)) << "examples/sft.yaml does not carry " << k;
}

TEST(TrainSettings, ValuesNoTypeRulesOutNameTheirKey) {
  EXPECT_NE(error_of([] { rl_with({"rollout.top_p=0"}); }).find("rollout.top_p"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"rollout.top_k=-1"}); }).find("rollout.top_k"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"run.keep=-1"}); }).find("run.keep"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"run.seed=-3"}); }).find("run.seed"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"trainer.betas=[0.9]"}); }).find("trainer.betas"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"trainer.betas=[0.9, 1.5]"}); }).find("trainer.betas"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"trainer.schedule=linear"}); }).find("trainer.schedule"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"algorithm.kl_horizon=0"}); }).find("algorithm.kl_horizon"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"algorithm.advantage=rloo", "rollout.n=1"}); }).find("rollout.n"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"trainer.micro_batch_size=3"}); }).find("trainer.micro_batch_size"), std::string::npos);
  EXPECT_NE(error_of([] { rl_with({"algorithm.loss_agg=token_mean"}); }).find("did you mean"), std::string::npos);
  // A config that was not resolved against the defaults: the missing or mistyped key is named.
  Json broken = train::rl_defaults();
  broken["trainer"].erase("lr");
  EXPECT_NE(error_of([&] { train::RLConfig::parse(broken); }).find("trainer.lr"), std::string::npos);
  broken = train::rl_defaults();
  broken["rollout"]["n"] = "eight";
  EXPECT_NE(error_of([&] { train::RLConfig::parse(broken); }).find("rollout.n: expected an integer"), std::string::npos);
  // SFT.
  EXPECT_NE(error_of([] { train::SFTConfig::parse(config::load_config(train::sft_defaults(), "", {"data.max_len=1"})); })
                .find("data.max_len"),
            std::string::npos);
}

TEST(TrainSettings, OptimSettingsKeepDefaultsForAbsentKeys) {
  const auto s = train::optim_settings({{"lr", 0.5}}, 10);
  EXPECT_EQ(s.lr, 0.5);
  EXPECT_EQ(s.weight_decay, train::OptimSettings{}.weight_decay);
  EXPECT_EQ(s.total_steps, 10);
  EXPECT_NE(error_of([] { train::optim_settings({{"betas", {0.9, 0.9, 0.9}}}, 10); }).find("trainer.betas"), std::string::npos);
}
