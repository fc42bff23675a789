// The RL trainer end to end on the tiny preset: resume is bit-exact, guards skip bad updates,
// a throwing reward is counted, dynamic sampling drops flat groups, PPO with a value head runs,
// and impossible configs are errors naming the key.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/config/config.h"
#include "arlt/io/safetensors.h"
#include "arlt/reward/reward.h"
#include "arlt/train/checkpoint.h"
#include "arlt/train/optim.h"
#include "arlt/train/rl.h"
#include "arlt/tools/tool_server.h"
#include "arlt/tools/tool_set.h"
#include "../test_util.h"

using namespace arlt;
namespace fs = std::filesystem;

namespace {

// A reward that varies between the samples of a prompt even for a random model (exact match
// never does), so that the advantages, and the updates, are not zero.
void register_test_rewards() {
  reward::register_reward("test_parity", [](const reward::RewardInput& in) {
    return static_cast<double>(in.response_ids.size() % 2) + 0.1 * static_cast<double>(in.response_ids.empty() ? 0 : in.response_ids[0] % 3);
  });
}

nlohmann::ordered_json small_rl(const std::string& out, std::vector<std::string> extra = {}) {
  register_test_rewards();
  auto c = train::rl_defaults();
  std::vector<std::string> o = {"run.out=" + out, "run.steps=4", "run.eval_every=0", "run.seed=3",
                                "data.train_size=64", "data.test_size=8", "rollout.n=4", "rollout.max_tokens=4",
                                "trainer.prompts_per_step=4", "trainer.mini_batch_size=8", "trainer.micro_batch_size=4",
                                "trainer.lr=1e-3", "reward.functions=test_parity"};
  o.insert(o.end(), extra.begin(), extra.end());
  for (const auto& s : o) config::apply_override(c, s);
  return c;
}

std::vector<nlohmann::json> metrics_of(const std::string& run) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(run + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<std::string, torch::Tensor> weights(const std::string& path) {
  auto f = io::SafeTensorsFile::open(path);
  std::map<std::string, torch::Tensor> out;
  for (const auto& t : f->tensors()) out[t.name] = f->tensor(t.name).clone();
  return out;
}

std::string expect_error(const nlohmann::ordered_json& c) {
  try {
    train::run_rl(c, {false, 0, true});
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an arlt::Error";
  return "";
}

}  // namespace

TEST(TrainRL, ResumeIsBitIdenticalToAnUninterruptedRun) {
  test::TempDir dir;
  const std::string a = dir / "a", b = dir / "b";
  train::run_rl(small_rl(a, {"run.save_every=2"}), {false, 0, true});
  // Stopped after step 2 (as if pre-empted), then resumed from its checkpoint.
  train::run_rl(small_rl(b, {"run.save_every=2"}), {false, 2, true});
  ASSERT_EQ(train::latest_checkpoint(b), b + "/checkpoints/step_2");
  EXPECT_FALSE(fs::exists(b + "/model"));
  train::run_rl(small_rl(b, {"run.save_every=2"}), {true, 0, true});
  auto fa = weights(a + "/model/model.safetensors"), fb = weights(b + "/model/model.safetensors");
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [n, t] : fa) EXPECT_TRUE(torch::equal(t, fb.at(n))) << n;
  // Same metrics too (apart from timings), and metrics.jsonl has each step once.
  auto ma = metrics_of(a), mb = metrics_of(b);
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(ma[i]["step"], mb[i]["step"]);
    EXPECT_EQ(ma[i]["reward/mean"], mb[i]["reward/mean"]);
    EXPECT_EQ(ma[i]["loss"], mb[i]["loss"]);
  }
  // The run changed the weights (the comparison above is not of two untouched models).
  auto init = weights(b + "/checkpoints/step_2/model/model.safetensors");
  bool changed = false;
  for (const auto& [n, t] : fa) changed |= !torch::equal(t, init.at(n));
  EXPECT_TRUE(changed);
  // keep = 2: step_2 and step_4 remain, no temporary folder is left behind.
  EXPECT_EQ(train::list_checkpoints(a).size(), 2u);
  for (const auto& e : fs::directory_iterator(a + "/checkpoints")) EXPECT_EQ(e.path().filename().string().rfind(".tmp", 0), std::string::npos);
}

TEST(TrainRL, NonFiniteUpdatesAreSkippedNeverApplied) {
  // 10 x 1e308 overflows to inf: GRPO's inf - inf gives NaN advantages, so NaN losses.
  reward::register_reward("test_huge", [](const reward::RewardInput&) { return 1e308; });
  test::TempDir dir;
  const std::string run = dir / "r";
  auto s = train::run_rl(small_rl(run, {"reward.functions=test_huge:10", "run.steps=2", "run.save_every=1", "run.keep=0"}),
                         {false, 0, true});
  EXPECT_EQ(s.skipped_updates, 4);  // 2 steps x 2 mini-batches, every one with a NaN advantage
  auto s1 = weights(run + "/checkpoints/step_1/model/model.safetensors"),
       s2 = weights(run + "/checkpoints/step_2/model/model.safetensors");
  for (const auto& [n, t] : s1) EXPECT_TRUE(torch::equal(t, s2.at(n))) << n;
  for (const auto& m : metrics_of(run)) EXPECT_EQ(m["skipped"], 2);
}

TEST(TrainRL, ThrowingRewardCountsAnErrorAndTrainingGoesOn) {
  reward::register_reward("test_throws", [](const reward::RewardInput& in) -> double {
    if (!in.response_ids.empty() && in.response_ids[0] % 2) throw std::runtime_error("boom");
    return 1.0;
  });
  test::TempDir dir;
  auto s = train::run_rl(small_rl(dir / "r", {"reward.functions=test_throws,exact_match", "run.steps=2"}), {false, 0, true});
  EXPECT_EQ(s.steps_done, 2);
  int64_t errors = 0;
  for (const auto& m : metrics_of(dir / "r")) errors += m["reward/errors"].get<int64_t>();
  EXPECT_GT(errors, 0);
}

TEST(TrainRL, DynamicSamplingDropsGroupsWithEqualRewards) {
  // Prompts whose first operand is even always score 1 (a flat group); others score by length.
  reward::register_reward("test_half_flat", [](const reward::RewardInput& in) {
    return (in.prompt[0] - '0') % 2 == 0 ? 1.0 : static_cast<double>(in.response.size() % 3);
  });
  test::TempDir dir;
  train::run_rl(small_rl(dir / "r", {"reward.functions=test_half_flat", "algorithm.dynamic_sampling=true",
                                      "run.steps=2", "rollout.temperature=1.5"}),
                {false, 0, true});
  int64_t dropped = 0;
  for (const auto& m : metrics_of(dir / "r")) {
    dropped += m["dynamic/dropped_groups"].get<int64_t>();
    EXPECT_GE(m["dynamic/gen_batches"].get<int64_t>(), 1);
  }
  EXPECT_GT(dropped, 0);
}

TEST(TrainRL, EstimatorsAndPPOWithValueHeadRun) {
  for (const char* adv : {"rloo", "reinforce_plus_plus", "reinforce_plus_plus_baseline", "gae"}) {
    test::TempDir dir;
    auto s = train::run_rl(small_rl(dir / "r", {std::string("algorithm.advantage=") + adv, "run.steps=2", "algorithm.kl_coef=0.01",
                                                 "trainer.ppo_epochs=2", "run.eval_every=2"}),
                           {false, 0, true});
    EXPECT_EQ(s.steps_done, 2) << adv;
    auto m = metrics_of(dir / "r");
    ASSERT_EQ(m.size(), 3u) << adv;  // step 0 (test accuracy) + 2 steps
    EXPECT_TRUE(m[2]["kl"].is_number()) << adv;
    EXPECT_TRUE(std::isfinite(m[2]["grad_norm"].get<double>())) << adv;
  }
}

TEST(TrainRL, ImpossibleConfigsNameTheKey) {
  test::TempDir dir;
  EXPECT_NE(expect_error(small_rl(dir / "r", {"rollout.n=1"})).find("rollout.n"), std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "r", {"trainer.mini_batch_size=5"})).find("trainer.mini_batch_size"), std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "r", {"data.train=/nonexistent/x.jsonl"})).find("/nonexistent/x.jsonl"), std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "r", {"algorithm.advantage=grpoo"})).find("did you mean 'grpo'"), std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "r", {"reward.functions=exact_mach"})).find("exact_match"), std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "r", {"rollout.max_tokens=100000"})).find("max_tokens"), std::string::npos);
  const std::string bad = dir / "bad.jsonl";
  write_file_atomic(bad, "{\"prompt\": \"1+1=\", \"ground_truth\": \"2\"}\nnot json\n");
  EXPECT_NE(expect_error(small_rl(dir / "r", {"data.train=" + bad})).find(bad + ":2"), std::string::npos);
}

TEST(TrainOptim, ScheduleAndGuard) {
  nlohmann::ordered_json t = {{"lr", 1.0}, {"warmup_steps", 2}, {"min_lr_ratio", 0.1}};
  auto s = train::optim_settings(t, 12);
  EXPECT_DOUBLE_EQ(train::lr_at(s, 1), 0.5);
  EXPECT_DOUBLE_EQ(train::lr_at(s, 2), 1.0);
  EXPECT_NEAR(train::lr_at(s, 7), 0.1 + 0.9 * 0.5, 1e-12);  // half-way through the cosine
  EXPECT_NEAR(train::lr_at(s, 12), 0.1, 1e-12);
  train::UpdateGuard g(10.0, 2);
  EXPECT_EQ(g.check(1.0, 1.0), "");
  EXPECT_NE(g.check(std::nan(""), 1.0), "");
  EXPECT_NE(g.check(1.0, INFINITY), "");
  g.accept(1.0);
  g.accept(1.0);
  EXPECT_NE(g.check(1.0, 50.0).find("grad norm"), std::string::npos);  // a spike after warm-up
  EXPECT_EQ(g.check(1.0, 5.0), "");
  EXPECT_THROW(train::optim_settings({{"lr", -1.0}}, 10), Error);
}

TEST(TrainRL, GRPOLearnsAnEasyReward) {
  // Reward 1 when the first generated token id is even: half the samples of a random model get
  // it. A working loop (sampling, log-probs, advantages, loss sign, optimiser) drives the rate up.
  reward::register_reward("test_even_first", [](const reward::RewardInput& in) {
    return !in.response_ids.empty() && in.response_ids[0] % 2 == 0 ? 1.0 : 0.0;
  });
  test::TempDir dir;
  train::run_rl(small_rl(dir / "r", {"reward.functions=test_even_first", "run.steps=15", "trainer.prompts_per_step=8",
                                      "rollout.n=8", "trainer.mini_batch_size=0", "trainer.micro_batch_size=64",
                                      "trainer.lr=3e-3", "trainer.min_lr_ratio=1.0"}),
                {false, 0, true});
  auto m = metrics_of(dir / "r");
  double first = 0, last = 0;
  for (int i = 0; i < 3; ++i) first += m[i]["reward/mean"].get<double>() / 3, last += m[m.size() - 1 - i]["reward/mean"].get<double>() / 3;
  EXPECT_GT(last, first + 0.2) << "first steps " << first << ", last steps " << last;
}

TEST(TrainRL, RolloutLogProbsStandInForTheOldForward) {
  // With the engine's log-probs as the old policy's, the first (and only) update of a step sees
  // a ratio of 1 up to the engine/trainer difference: approx_kl is tiny, nothing is clipped.
  test::TempDir dir;
  train::run_rl(small_rl(dir / "r", {"algorithm.old_logprobs=rollout", "trainer.mini_batch_size=0", "run.steps=2",
                                      "rollout.temperature=0.8"}),
                {false, 0, true});
  for (const auto& m : metrics_of(dir / "r")) {
    EXPECT_LT(std::abs(m["approx_kl"].get<double>()), 1e-4);
    EXPECT_EQ(m["clip_fraction"].get<double>(), 0.0);
    EXPECT_GT(m["entropy"].get<double>(), 0.0);
  }
  EXPECT_NE(expect_error(small_rl(dir / "r", {"algorithm.old_logprobs=rollout", "rollout.top_p=0.9"})).find("old_logprobs"),
            std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "r", {"algorithm.old_logprobs=rollout", "algorithm.advantage=gae"})).find("gae"),
            std::string::npos);
}

TEST(TrainRL, OverlongPenaltyGspoAndKLInRewardWithAdaptiveCoefficient) {
  reward::register_reward("test_one", [](const reward::RewardInput&) { return 1.0; });
  test::TempDir dir;
  // max_tokens 4, buffer 2, penalty 0.5: a 4-token response loses 0.5, a 3-token one 0.25.
  train::run_rl(small_rl(dir / "a", {"reward.functions=test_one", "reward.overlong_buffer=2", "reward.overlong_penalty=0.5",
                                      "run.steps=2", "algorithm.policy_loss=gspo", "algorithm.kl_coef=0.05",
                                      "algorithm.kl_in_reward=true", "algorithm.kl_target=0.01"}),
                {false, 0, true});
  for (const auto& m : metrics_of(dir / "a")) {
    EXPECT_LT(m["reward/mean"].get<double>(), 1.0);
    EXPECT_GE(m["reward/min"].get<double>(), 0.5);
    EXPECT_TRUE(m["kl_coef"].is_number());
  }
  auto m = metrics_of(dir / "a");
  EXPECT_NE(m[0]["kl_coef"].get<double>(), m[1]["kl_coef"].get<double>());  // the adaptive controller moved
  train::run_rl(small_rl(dir / "b", {"reward.functions=test_one", "run.steps=1"}), {false, 0, true});
  EXPECT_EQ(metrics_of(dir / "b")[0]["reward/mean"].get<double>(), 1.0);
}

TEST(TrainRL, ARunFolderWithCheckpointsNeedsResumeAndKeepsItsTokenizer) {
  test::TempDir dir;
  const std::string run = dir / "r";
  train::run_rl(small_rl(run, {"run.steps=2", "run.save_every=1", "run.keep=1"}), {false, 1, true});
  EXPECT_NE(expect_error(small_rl(run, {"run.steps=2"})).find("--resume"), std::string::npos);
  // Resumed, with keep = 1 the checkpoint it resumed from is deleted; the tokenizer must not go with it.
  train::run_rl(small_rl(run, {"run.steps=3", "run.save_every=1", "run.keep=1"}), {true, 0, true});
  EXPECT_TRUE(fs::exists(run + "/model/tokenizer.json"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/step_3/model/tokenizer.json"));
}

TEST(TrainOptim, GuardAcceptsANewScaleAfterThreeSpikes) {
  train::UpdateGuard g(10.0, 1);
  g.accept(1.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(g.check(1.0, 100.0), "");
    g.reject();
  }
  EXPECT_EQ(g.check(1.0, 100.0), "");  // the fourth in a row is taken as the new scale
  g.accept(100.0);
  EXPECT_EQ(g.check(1.0, 150.0), "");
  EXPECT_NE(g.check(1.0, 5000.0), "");
  EXPECT_NE(g.check(std::nan(""), 1.0), "");  // non-finite: always refused
}

TEST(TrainRL, AgentRolloutsWithAToolTrainOnGeneratedTokensOnly) {
  // A tool that answers every action, and action stops the random model writes often: most
  // trajectories call the tool; the step trains (observation tokens masked) and reports agent metrics.
  tools::register_tool("test_echo", [](const tools::Json&) {
    struct Echo : tools::Tool {
      std::string name() const override { return "test_echo"; }
      std::string description() const override { return "echoes"; }
      bool accepts(const std::string&) const override { return true; }
      tools::Observation execute(const std::string& a, const tools::ToolContext&) override {
        tools::Observation o;
        o.value = "<obs " + std::to_string(a.size()) + ">";
        return o;
      }
    };
    return std::unique_ptr<tools::Tool>(new Echo);
  });
  test::TempDir dir;
  const std::string run = dir / "r";
  auto s = train::run_rl(small_rl(run, {"agent.enable=true", "agent.tools=[test_echo]", "agent.action_stops=[a, e, o, t, n, s, r, l]",
                                        "agent.max_turns=2", "rollout.max_tokens=24", "agent.max_action_tokens=8", "run.steps=2"}),
                         {false, 0, true});
  EXPECT_EQ(s.steps_done, 2);
  const auto m = metrics_of(run);
  ASSERT_EQ(m.size(), 2u);
  for (const auto& line : m) {
    ASSERT_TRUE(line.contains("agent/tool_calls")) << line.dump();
    EXPECT_GT(line["agent/tool_calls"].get<double>(), 0.0) << line.dump();
    EXPECT_LE(line["agent/tool_calls"].get<double>(), 2.0);
    EXPECT_TRUE(std::isfinite(line["loss"].get<double>()));
    EXPECT_LE(line["response_length/max"].get<double>(), 24.0) << "generated tokens only";
  }
  EXPECT_NE(expect_error(small_rl(dir / "bad", {"agent.enable=true", "agent.tools=[pyton_code]"})).find("did you mean"), std::string::npos);
  EXPECT_NE(expect_error(small_rl(dir / "bad", {"agent.enable=true", "agent.tools_url=localhost:5000"})).find("agent.tools_url"),
            std::string::npos);
  // The same tool behind the tool server, reached through agent.tools_url.
  auto served = std::make_unique<tools::ToolSet>();
  served->add(tools::make_tool("test_echo"));
  tools::ToolServer server(std::move(served), {});
  const int port = server.start();
  const std::string remote_run = dir / "remote";
  train::run_rl(small_rl(remote_run, {"agent.enable=true", "agent.tools_url=http://127.0.0.1:" + std::to_string(port),
                                      "agent.action_stops=[a, e, o, t, n, s, r, l]", "agent.max_turns=2", "rollout.max_tokens=24",
                                      "agent.max_action_tokens=8", "run.steps=1"}),
                {false, 0, true});
  const auto rm = metrics_of(remote_run);
  ASSERT_EQ(rm.size(), 1u);
  EXPECT_GT(rm[0]["agent/tool_calls"].get<double>(), 0.0);
}
