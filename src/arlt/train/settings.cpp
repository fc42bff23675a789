#include "arlt/train/settings.h"

#include <algorithm>
#include <cmath>

#include "arlt/algo/advantages.h"
#include "arlt/algo/kl.h"
#include "arlt/algo/policy_loss.h"
#include "arlt/base/error.h"
#include "arlt/base/suggest.h"
#include "arlt/reward/reward.h"
#include "arlt/tools/tool_set.h"
#include "arlt/train/settings_io.h"

namespace arlt::train {
namespace {

void check_name(const std::string& key, const std::string& value, const std::vector<std::string>& names) {
  if (std::find(names.begin(), names.end(), value) != names.end()) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string hint = did_you_mean(value, names);
  throw Error(key + ": unknown value '" + value + "' (one of: " + list + ")" + (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
}

void positive(const char* key, int64_t v) {
  if (v <= 0) throw Error(std::string(key) + ": must be > 0, found " + std::to_string(v));
}

void check_run(const RunSection& r) {
  positive("run.steps", r.steps);
  if (r.eval_every < 0) throw Error("run.eval_every: must be >= 0 (0 = never), found " + std::to_string(r.eval_every));
  if (r.save_every < 0) throw Error("run.save_every: must be >= 0 (0 = never), found " + std::to_string(r.save_every));
  if (r.keep < 0) throw Error("run.keep: must be >= 0 (0 = all), found " + std::to_string(r.keep));
  if (r.out.empty()) throw Error("run.out: give a run folder");
}

template <typename Config>
Config parse_config(const Json& resolved) {
  Config c;
  JsonReader r(resolved, "");
  c.visit(r);
  c.validate();
  return c;
}

}  // namespace

Json rl_defaults() { return to_json(RLConfig{}); }
Json sft_defaults() { return to_json(SFTConfig{}); }

RLConfig RLConfig::parse(const Json& resolved) { return parse_config<RLConfig>(resolved); }
SFTConfig SFTConfig::parse(const Json& resolved) { return parse_config<SFTConfig>(resolved); }

int64_t RLConfig::rollouts_per_update() const {
  return trainer.mini_batch_size == 0 ? trainer.prompts_per_step * rollout.n : trainer.mini_batch_size;
}

void RLConfig::validate() const {
  check_run(run);
  const auto& a = algorithm;
  const auto& t = trainer;
  positive("rollout.n", rollout.n);
  positive("rollout.max_tokens", rollout.max_tokens);
  positive("rollout.max_seqs", rollout.max_seqs);
  positive("trainer.prompts_per_step", t.prompts_per_step);
  positive("trainer.ppo_epochs", t.ppo_epochs);
  positive("trainer.micro_batch_size", t.micro_batch_size);
  positive("algorithm.max_gen_batches", a.max_gen_batches);
  if (!(rollout.temperature >= 0) || !std::isfinite(rollout.temperature)) throw Error("rollout.temperature: must be >= 0");
  if (!(rollout.top_p > 0 && rollout.top_p <= 1)) throw Error("rollout.top_p: must be in (0, 1]");
  if (rollout.top_k < 0) throw Error("rollout.top_k: must be >= 0 (0 = off)");
  if (rollout.max_batch_tokens != 0 && rollout.max_batch_tokens < rollout.max_seqs)
    throw Error("rollout.max_batch_tokens (" + std::to_string(rollout.max_batch_tokens) +
                ") must be 0 (auto) or at least rollout.max_seqs (" + std::to_string(rollout.max_seqs) + ")");
  check_name("algorithm.old_logprobs", a.old_logprobs, {"recompute", "rollout"});
  const bool rollout_logprobs = a.old_logprobs == "rollout";
  if (rollout_logprobs && rollout.temperature == 0.0)
    throw Error("algorithm.old_logprobs: 'rollout' needs sampling (rollout.temperature > 0): greedy rollouts have no "
                "sampling distribution to take log-probs from");
  if (rollout_logprobs && (rollout.top_k != 0 || rollout.top_p < 1.0))
    throw Error("algorithm.old_logprobs: 'rollout' needs rollout.top_k = 0 and rollout.top_p = 1 (the engine's log-probs "
                "are then those of the policy at the sampling temperature)");
  check_name("algorithm.advantage", a.advantage, algo::advantage_estimators());
  check_name("algorithm.policy_loss", a.policy_loss, algo::policy_losses());
  check_name("algorithm.loss_agg", a.loss_aggregation, algo::aggregation_modes());
  check_name("algorithm.kl_estimator", a.kl_estimator, algo::kl_estimators());
  const algo::AdvantageEstimator est = algo::advantage_estimator(a.advantage);
  if (est.grouped && rollout.n < 2)
    throw Error("rollout.n: " + a.advantage + " compares the samples of a prompt with each other, so it needs n >= 2 (found " +
                std::to_string(rollout.n) + ")");
  const int64_t rows = t.prompts_per_step * rollout.n;
  const int64_t mini = rollouts_per_update();
  if (mini < 0 || rows % mini != 0)
    throw Error("trainer.mini_batch_size: " + std::to_string(t.mini_batch_size) +
                " does not divide the batch of prompts_per_step x n = " + std::to_string(rows) + " rollouts");
  if (mini % t.micro_batch_size != 0 && t.micro_batch_size < mini)
    throw Error("trainer.micro_batch_size: " + std::to_string(t.micro_batch_size) + " does not divide mini_batch_size " +
                std::to_string(mini));
  if (!(a.kl_coef >= 0)) throw Error("algorithm.kl_coef: must be >= 0");
  if (!(a.kl_target >= 0)) throw Error("algorithm.kl_target: must be >= 0 (0 = a fixed coefficient)");
  if (!(a.kl_horizon > 0)) throw Error("algorithm.kl_horizon: must be > 0");
  if (!(a.entropy_coef >= 0)) throw Error("algorithm.entropy_coef: must be >= 0");
  if (!(a.clip_low >= 0 && a.clip_low < 1) || !(a.clip_high >= 0))
    throw Error("algorithm.clip_low must be in [0, 1) and clip_high >= 0");
  if (est.needs_values && a.loss_aggregation == "seq-mean-token-sum-norm")
    throw Error("algorithm.loss_agg: seq-mean-token-sum-norm is not available with advantage '" + a.advantage +
                "' (the value loss normalises by tokens or sequences)");
  if (rollout_logprobs && est.needs_values)
    throw Error("algorithm.old_logprobs: 'rollout' cannot be combined with advantage '" + a.advantage +
                "' (its values come from the old forward)");
  // parse_reward_specs names an unknown reward with a suggestion.
  if (reward::parse_reward_specs(reward.functions).empty()) throw Error("reward.functions: give at least one reward function");
  if (reward::parse_reward_specs(reward.accuracy).size() != 1)
    throw Error("reward.accuracy: expected one reward name, found '" + reward.accuracy + "'");
  if (reward.overlong_buffer < 0 || reward.overlong_buffer >= rollout.max_tokens)
    throw Error("reward.overlong_buffer: must be in [0, rollout.max_tokens)");
  t.optim.validate("trainer");
  if (agent.enable) {
    if (agent.tools_url.empty()) {
      if (agent.tools.empty()) throw Error("agent.tools: name at least one tool (arlt tools list)");
      for (const auto& name : agent.tools) check_name("agent.tools", name, tools::tool_names());
      if (std::find(agent.tools.begin(), agent.tools.end(), "search") != agent.tools.end() && agent.search_corpus.empty())
        throw Error("agent.search_corpus: the search tool needs a JSONL of passages ({\"id\", \"title\", \"text\"})");
    } else if (agent.tools_url.rfind("http://", 0) != 0) {
      throw Error("agent.tools_url: '" + agent.tools_url + "': expected http://host:port");
    }
    for (const auto& s : agent.action_stops)
      if (s.empty()) throw Error("agent.action_stops: an empty stop string would end every turn at once");
    if (agent.max_turns < 0) throw Error("agent.max_turns: must be >= 0");
    if (agent.max_action_tokens < 0) throw Error("agent.max_action_tokens: must be >= 0 (0 = rollout.max_tokens)");
    if (agent.max_obs_tokens < 0) throw Error("agent.max_obs_tokens: must be >= 0");
    check_name("agent.truncation", agent.truncation, {"left", "right", "middle"});
    if (!(agent.tool_timeout > 0)) throw Error("agent.tool_timeout: must be > 0");
  }
}

void SFTConfig::validate() const {
  check_run(run);
  positive("trainer.batch_size", trainer.batch_size);
  const int64_t micro = trainer.micro_batch_size == 0 ? trainer.batch_size : trainer.micro_batch_size;
  if (micro < 0 || trainer.batch_size % micro != 0)
    throw Error("trainer.micro_batch_size: " + std::to_string(trainer.micro_batch_size) + " does not divide trainer.batch_size " +
                std::to_string(trainer.batch_size));
  if (data.max_len < 2) throw Error("data.max_len: must be >= 2");
  trainer.optim.validate("trainer");
}

}  // namespace arlt::train
