// Online RL (GRPO family, PPO with a value head): per step, prompts -> n rollouts each through
// the engine on the policy's own weights -> rewards -> advantages -> ppo_epochs passes over
// mini-batches with gradient accumulation. See docs/trainer.md and examples/grpo.yaml.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/train/settings.h"  // rl_defaults(), RLConfig

namespace arlt::train {

struct RunOptions {
  bool resume = false;        // continue from RUN/checkpoints' newest
  int64_t stop_after = 0;     // stop once this step is done (0 = run.steps); simulates a pre-emption
  bool quiet = false;         // no progress line
};

struct RLSummary {
  int64_t steps_done = 0, skipped_updates = 0;
  double first_accuracy = -1, last_accuracy = -1;  // test accuracy before the first and after the last step
  std::string run_dir;
};

// Runs the RL loop on a resolved config (rl_defaults() overlaid with the user's file and
// overrides). Writes RUN/config.yaml, metrics.jsonl, checkpoints/, model/.
RLSummary run_rl(const nlohmann::ordered_json& config, const RunOptions& options);

}  // namespace arlt::train
