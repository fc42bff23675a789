// Advantage estimators: from sequence rewards (and optional per-token terms) to per-token
// advantages and returns, selected by name (verl's trainer/ppo/core_algos.py conventions).
#pragma once
#include <torch/torch.h>

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

// Runs the estimator `name` (one of advantage_estimators()) without gradient. Outputs have the
// dtype of scores (float32 when scores is not floating) and the device of mask.
// Throws arlt::Error for an unknown name, a wrong shape or an option out of range.
AdvantageOutput compute_advantages(const std::string& name, const AdvantageInput& in, const AdvantageOptions& opt);

// The registered names, sorted: gae, grpo, reinforce_plus_plus, reinforce_plus_plus_baseline, rloo.
std::vector<std::string> advantage_estimators();

}  // namespace arlt::algo
