// Advantage estimators: from sequence rewards (and optional per-token terms) to per-token
// advantages and returns, selected by name (verl's trainer/ppo/core_algos.py conventions).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace arlt::algo {

struct AdvantageOptions {
  bool norm_by_std = true;  // grpo: divide by the group std (false = Dr.GRPO)
  double eps = 1e-6;        // grpo: added to the std
  double gamma = 1.0;       // reinforce_plus_plus(_baseline), gae: discount per generated token
  double lam = 1.0;         // gae: lambda
};

struct AdvantageInput {
  torch::Tensor scores;         // [B] float: the sequence reward of each response
  torch::Tensor group;          // [B] int64: which prompt each response belongs to (any ids)
  torch::Tensor mask;           // [B,T] float: 1 on response tokens the policy generated
  torch::Tensor token_rewards;  // optional [B,T] per-token terms added to the reward (e.g. -beta*KL); undefined = none
  torch::Tensor values;         // [B,T] value predictions (gae only)
};

struct AdvantageOutput {
  torch::Tensor advantages;  // [B,T], 0 where mask == 0
  torch::Tensor returns;     // [B,T], 0 where mask == 0
};

// A registered estimator: the function, the AdvantageOptions fields it reads (the trainer warns
// when a config sets one it does not), and what the trainer must provide for it.
struct AdvantageEstimator {
  std::function<AdvantageOutput(const AdvantageInput&, const AdvantageOptions&)> fn;
  std::vector<std::string> options;  // e.g. {"norm_by_std", "eps"}
  bool grouped = false;              // compares the samples of one prompt: needs n >= 2 per prompt
  bool needs_values = false;         // reads AdvantageInput::values (a value head)
};

// Adds (or replaces) an estimator, from any file; thread-safe. The built-ins are gae, grpo,
// reinforce_plus_plus, reinforce_plus_plus_baseline, rloo.
void register_advantage_estimator(const std::string& name, AdvantageEstimator estimator);
// The estimator registered under `name`; an unknown name is an arlt::Error with a did-you-mean.
AdvantageEstimator advantage_estimator(const std::string& name);

// Runs the estimator `name` (one of advantage_estimators()) without gradient. Outputs have the
// dtype of scores (float32 when scores is not floating) and the device of mask.
// Throws arlt::Error for an unknown name, a wrong shape or an option out of range.
AdvantageOutput compute_advantages(const std::string& name, const AdvantageInput& in, const AdvantageOptions& opt);

// The registered names, sorted.
std::vector<std::string> advantage_estimators();

}  // namespace arlt::algo
