// Reward functions, registered by name and combined by weight. Built in: "exact_match" (the
// task's verifier on the extracted answer) and "format" (the answer has the task's shape and
// generation stopped on its own). docs/tasks.md describes both.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace arlt::reward {

struct RewardInput {
  std::string prompt, response, ground_truth, task;
  std::string finish_reason;  // "stop" or "length" (from the engine)
  std::vector<int64_t> response_ids;  // the generated token ids (the engine's, as trained on)
};
using RewardFn = std::function<double(const RewardInput&)>;

// Thread-safe; replaces an existing function of the same name (built-ins included).
void register_reward(const std::string& name, RewardFn fn);
bool has_reward(const std::string& name);
std::vector<std::string> reward_names();  // sorted

struct RewardSpec {
  std::string name;
  double weight = 1.0;
};

struct RewardResult {
  double total = 0;                // sum of weight * component
  std::vector<double> components;  // one per spec, unweighted
  int errors = 0;                  // reward functions that threw or returned NaN/inf (their component is 0)
  std::string first_error;         // "name: what()" of the first one
};

// Never throws for a failing reward function (it is counted); throws arlt::Error for an
// unknown name, listing the known names with a did-you-mean when one is close.
RewardResult score(const std::vector<RewardSpec>& specs, const RewardInput& in);

// "exact_match" or "exact_match:1.0,format:0.2": name[:weight], comma separated, spaces
// around items allowed. Throws Error for an empty list or item, a weight that is not a finite
// number, an unknown name, or a name listed twice.
std::vector<RewardSpec> parse_reward_specs(const std::string& text);

}  // namespace arlt::reward
