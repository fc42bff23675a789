#include "arlt/train/rl.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "arlt/algo/advantages.h"
#include "arlt/algo/kl.h"
#include "arlt/algo/policy_loss.h"
#include "arlt/algo/util.h"
#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/config/config.h"
#include "arlt/engine/engine.h"
#include "arlt/model/hf_folder.h"
#include "arlt/reward/reward.h"
#include "arlt/train/batch.h"
#include "arlt/train/checkpoint.h"
#include "arlt/train/metrics.h"
#include "arlt/train/optim.h"
#include "arlt/train/setup.h"

namespace arlt::train {
namespace fs = std::filesystem;

Json rl_defaults() {
  return Json::parse(R"({
  "run": {"out": "runs/rl", "seed": 0, "steps": 100, "eval_every": 10, "save_every": 0, "keep": 2},
  "model": {"path": "", "preset": "tiny", "dtype": "", "init_seed": 0},
  "tokenizer": {"path": ""},
  "data": {"task": "addition", "task_params": {"*": null}, "train": "", "test": "", "train_size": 5000,
           "test_size": 200, "prompt_key": "prompt", "answer_key": "ground_truth", "chat_template": false},
  "rollout": {"n": 8, "max_tokens": 16, "temperature": 1.0, "top_p": 1.0, "top_k": 0, "stop": [""],
              "ignore_eos": false, "max_seqs": 256, "max_batch_tokens": 0},
  "reward": {"functions": "exact_match", "accuracy": "exact_match", "overlong_buffer": 0, "overlong_penalty": 1.0},
  "algorithm": {"advantage": "grpo", "norm_by_std": true, "gamma": 1.0, "lam": 1.0,
                "policy_loss": "ppo", "clip_low": 0.2, "clip_high": 0.2, "dual_clip": 3.0, "log_ratio_clamp": 20.0,
                "loss_agg": "token-mean", "kl_coef": 0.0, "kl_estimator": "k3", "kl_in_reward": false,
                "kl_target": 0.0, "kl_horizon": 10000, "entropy_coef": 0.0, "vf_coef": 0.5, "value_clip": 0.2,
                "dynamic_sampling": false, "max_gen_batches": 4, "old_logprobs": "recompute"},
  "trainer": {"prompts_per_step": 16, "ppo_epochs": 1, "mini_batch_size": 0, "micro_batch_size": 64,
              "lr": 1e-5, "warmup_steps": 0, "min_lr_ratio": 0.1, "schedule": "cosine", "weight_decay": 0.0,
              "betas": [0.9, 0.999], "eps": 1e-8, "grad_clip": 1.0, "spike_factor": 10.0, "share_prompts": true}
})");
}

namespace {

template <typename T>
T get(const Json& cfg, const char* path) {
  return config::at_path(cfg, path).get<T>();
}

void check_names(const std::string& key, const std::string& value, const std::vector<std::string>& names) {
  if (std::find(names.begin(), names.end(), value) != names.end()) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string hint = config::did_you_mean(value, names);
  throw Error(key + ": unknown value '" + value + "' (one of: " + list + ")" +
              (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
}

struct Settings {
  int64_t steps, eval_every, save_every, keep, n, prompts, ppo_epochs, mini, micro, max_gen_batches;
  uint64_t seed;
  bool share_prompts;
  double temperature;
  std::string adv, ploss, agg, kl_est;
  double kl_coef, entropy_coef, vf_coef, value_clip;
  bool kl_in_reward, dynamic, rollout_logprobs;
  algo::PolicyLossOptions popt;
  algo::AdvantageOptions aopt;
  std::vector<reward::RewardSpec> rewards;
  std::string accuracy_reward;
  int accuracy_index = -1;  // where the accuracy reward sits in `rewards` (-1: scored on its own)
  int64_t overlong_buffer;
  double overlong_penalty;
};

// Reads and checks the config: every impossible value is an error naming its key.
Settings read_settings(const Json& c) {
  Settings s;
  s.steps = get<int64_t>(c, "run.steps");
  s.eval_every = get<int64_t>(c, "run.eval_every");
  s.save_every = get<int64_t>(c, "run.save_every");
  s.keep = get<int64_t>(c, "run.keep");
  s.seed = get<uint64_t>(c, "run.seed");
  s.n = get<int64_t>(c, "rollout.n");
  s.temperature = get<double>(c, "rollout.temperature");
  s.prompts = get<int64_t>(c, "trainer.prompts_per_step");
  s.ppo_epochs = get<int64_t>(c, "trainer.ppo_epochs");
  s.mini = get<int64_t>(c, "trainer.mini_batch_size");
  s.micro = get<int64_t>(c, "trainer.micro_batch_size");
  s.share_prompts = get<bool>(c, "trainer.share_prompts");
  s.adv = get<std::string>(c, "algorithm.advantage");
  s.ploss = get<std::string>(c, "algorithm.policy_loss");
  s.agg = get<std::string>(c, "algorithm.loss_agg");
  s.kl_est = get<std::string>(c, "algorithm.kl_estimator");
  s.kl_coef = get<double>(c, "algorithm.kl_coef");
  s.kl_in_reward = get<bool>(c, "algorithm.kl_in_reward");
  s.entropy_coef = get<double>(c, "algorithm.entropy_coef");
  s.vf_coef = get<double>(c, "algorithm.vf_coef");
  s.value_clip = get<double>(c, "algorithm.value_clip");
  s.dynamic = get<bool>(c, "algorithm.dynamic_sampling");
  const std::string old_lp = get<std::string>(c, "algorithm.old_logprobs");
  check_names("algorithm.old_logprobs", old_lp, {"recompute", "rollout"});
  s.rollout_logprobs = old_lp == "rollout";
  if (s.rollout_logprobs && get<double>(c, "rollout.temperature") == 0.0)
    throw Error("algorithm.old_logprobs: 'rollout' needs sampling (rollout.temperature > 0): greedy rollouts have no "
                "sampling distribution to take log-probs from");
  if (s.rollout_logprobs && (get<int64_t>(c, "rollout.top_k") != 0 || get<double>(c, "rollout.top_p") < 1.0))
    throw Error("algorithm.old_logprobs: 'rollout' needs rollout.top_k = 0 and rollout.top_p = 1 (the engine's log-probs "
                "are then those of the policy at the sampling temperature)");
  s.max_gen_batches = get<int64_t>(c, "algorithm.max_gen_batches");
  s.aopt.norm_by_std = get<bool>(c, "algorithm.norm_by_std");
  s.aopt.gamma = get<double>(c, "algorithm.gamma");
  s.aopt.lam = get<double>(c, "algorithm.lam");
  s.popt.clip_low = get<double>(c, "algorithm.clip_low");
  s.popt.clip_high = get<double>(c, "algorithm.clip_high");
  s.popt.dual_clip = get<double>(c, "algorithm.dual_clip");
  s.popt.log_ratio_clamp = get<double>(c, "algorithm.log_ratio_clamp");
  s.popt.aggregation = s.agg;
  s.popt.max_len = static_cast<double>(get<int64_t>(c, "rollout.max_tokens"));
  s.rewards = reward::parse_reward_specs(get<std::string>(c, "reward.functions"));
  s.accuracy_reward = get<std::string>(c, "reward.accuracy");
  s.overlong_buffer = get<int64_t>(c, "reward.overlong_buffer");
  s.overlong_penalty = get<double>(c, "reward.overlong_penalty");

  auto positive = [](const char* key, int64_t v) {
    if (v <= 0) throw Error(std::string(key) + ": must be > 0, found " + std::to_string(v));
  };
  positive("run.steps", s.steps);
  positive("rollout.n", s.n);
  positive("trainer.prompts_per_step", s.prompts);
  positive("trainer.ppo_epochs", s.ppo_epochs);
  positive("trainer.micro_batch_size", s.micro);
  positive("algorithm.max_gen_batches", s.max_gen_batches);
  if (s.eval_every < 0 || s.save_every < 0 || s.keep < 0) throw Error("run.eval_every / save_every / keep: must be >= 0");
  check_names("algorithm.advantage", s.adv, algo::advantage_estimators());
  check_names("algorithm.policy_loss", s.ploss, algo::policy_losses());
  check_names("algorithm.loss_agg", s.agg, algo::aggregation_modes());
  check_names("algorithm.kl_estimator", s.kl_est, algo::kl_estimators());
  const bool grouped = s.adv == "grpo" || s.adv == "rloo" || s.adv == "reinforce_plus_plus_baseline";
  if (grouped && s.n < 2)
    throw Error("rollout.n: " + s.adv + " compares the samples of a prompt with each other, so it needs n >= 2 (found " +
                std::to_string(s.n) + ")");
  const int64_t rows = s.prompts * s.n;
  if (s.mini == 0) s.mini = rows;
  if (s.mini < 0 || rows % s.mini != 0)
    throw Error("trainer.mini_batch_size: " + std::to_string(s.mini) + " does not divide the batch of prompts_per_step x n = " +
                std::to_string(rows) + " rollouts");
  if (s.mini % s.micro != 0 && s.micro < s.mini)
    throw Error("trainer.micro_batch_size: " + std::to_string(s.micro) + " does not divide mini_batch_size " +
                std::to_string(s.mini));
  if (s.temperature < 0) throw Error("rollout.temperature: must be >= 0");
  if (s.kl_coef < 0) throw Error("algorithm.kl_coef: must be >= 0");
  if (s.popt.clip_low < 0 || s.popt.clip_low >= 1 || s.popt.clip_high < 0)
    throw Error("algorithm.clip_low must be in [0, 1) and clip_high >= 0");
  if (s.rewards.empty()) throw Error("reward.functions: give at least one reward function");
  if (s.adv == "gae" && s.agg == "seq-mean-token-sum-norm")
    throw Error("algorithm.loss_agg: seq-mean-token-sum-norm is not available with advantage 'gae' (the value loss "
                "normalises by tokens or sequences)");
  if (s.rollout_logprobs && s.adv == "gae")
    throw Error("algorithm.old_logprobs: 'rollout' cannot be combined with advantage 'gae' (its values come from the old forward)");
  // parse_reward_specs names an unknown reward with a suggestion.
  if (reward::parse_reward_specs(s.accuracy_reward).size() != 1)
    throw Error("reward.accuracy: expected one reward name, found '" + s.accuracy_reward + "'");
  for (size_t k = 0; k < s.rewards.size(); ++k)
    if (s.rewards[k].name == s.accuracy_reward) s.accuracy_index = static_cast<int>(k);
  if (s.overlong_buffer < 0 || s.overlong_buffer >= get<int64_t>(c, "rollout.max_tokens"))
    throw Error("reward.overlong_buffer: must be in [0, rollout.max_tokens)");
  return s;
}

struct Rollout {
  int64_t example = 0, group = 0;
  std::vector<int64_t> prompt, response;
  std::vector<double> rollout_logp;
  std::string text, finish;
  double reward = 0, accuracy = 0;
  std::vector<double> components;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

// The loop lives in one class so that each phase of a step is a method, readable on its own.
class RLTrainer {
 public:
  RLTrainer(const Json& cfg, const RunOptions& opt);
  RLSummary run();

 private:
  std::vector<Rollout> generate(int64_t step, int64_t gen_batch, int64_t count);
  void score(std::vector<Rollout>& rollouts, Json& metrics);
  double evaluate();
  nlohmann::json state() const;
  void save(int64_t step);

  Json cfg_;
  RunOptions opt_;
  Settings s_;
  std::string run_dir_;
  Policy policy_;
  std::shared_ptr<model::Transformer> ref_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<torch::optim::AdamW> optim_;
  OptimSettings osettings_;
  UpdateGuard guard_;
  algo::KLController kl_ = algo::KLController::fixed(0.0);
  std::vector<data::Example> train_, test_;
  std::vector<std::vector<int64_t>> train_ids_, test_ids_;
  std::unique_ptr<DataOrder> order_;
  std::mt19937_64 rng_;
  engine::SamplingParams sampling_;
  int64_t start_step_ = 0, skipped_ = 0;
};

RLTrainer::RLTrainer(const Json& cfg, const RunOptions& opt) : cfg_(cfg), opt_(opt), s_(read_settings(cfg)) {
  run_dir_ = get<std::string>(cfg, "run.out");
  fs::create_directories(run_dir_);
  std::string resume_from;
  if (opt.resume) {
    resume_from = latest_checkpoint(run_dir_);
    if (resume_from.empty()) throw Error("--resume: no checkpoint in " + run_dir_ + "/checkpoints");
  } else if (!latest_checkpoint(run_dir_).empty()) {
    throw Error("run.out: " + run_dir_ + " already holds checkpoints of an earlier run; continue it with --resume or "
                "choose another run.out");
  }
  const bool value_head = s_.adv == "gae";
  policy_ = load_policy(cfg, run_dir_, value_head, resume_from.empty() ? "" : resume_from + "/model");
  // The reference policy is the initial one, also after a resume.
  if (s_.kl_coef > 0) ref_ = resume_from.empty() ? nullptr : load_policy(cfg, run_dir_, false).model;
  if (s_.kl_coef > 0 && !ref_) {
    ref_ = std::make_shared<model::Transformer>(policy_.model->config(), false);
    torch::NoGradGuard ng;
    auto src = policy_.model->named_parameters(true);
    for (auto& p : ref_->named_parameters(true)) p.value().copy_(src[p.key()]);
  }
  if (ref_) ref_->eval();

  const uint64_t seed = s_.seed;
  train_ = load_examples(cfg.at("data"), "train", seed);
  test_ = load_examples(cfg.at("data"), "test", seed);
  const bool chat = get<bool>(cfg, "data.chat_template");
  int64_t longest = 0;
  for (const auto& e : train_) train_ids_.push_back(encode_prompt(*policy_.tokenizer, e, chat));
  for (const auto& e : test_) test_ids_.push_back(encode_prompt(*policy_.tokenizer, e, chat));
  for (const auto& v : train_ids_) longest = std::max<int64_t>(longest, v.size());
  for (const auto& v : test_ids_) longest = std::max<int64_t>(longest, v.size());

  sampling_.temperature = s_.temperature;
  sampling_.top_p = get<double>(cfg, "rollout.top_p");
  sampling_.top_k = get<int64_t>(cfg, "rollout.top_k");
  sampling_.max_tokens = get<int64_t>(cfg, "rollout.max_tokens");
  sampling_.n = s_.n;
  for (const auto& st : get<std::vector<std::string>>(cfg, "rollout.stop"))
    if (!st.empty()) sampling_.stop.push_back(st);
  sampling_.ignore_eos = get<bool>(cfg, "rollout.ignore_eos");
  if (policy_.tokenizer->eos_id() >= 0 && !sampling_.ignore_eos) sampling_.stop_token_ids = {policy_.tokenizer->eos_id()};
  sampling_.validate();

  engine::EngineOptions eo;
  eo.max_seqs = get<int64_t>(cfg, "rollout.max_seqs");
  eo.max_batch_tokens = get<int64_t>(cfg, "rollout.max_batch_tokens");
  if (eo.max_batch_tokens != 0 && eo.max_batch_tokens < eo.max_seqs)
    throw Error("rollout.max_batch_tokens (" + std::to_string(eo.max_batch_tokens) + ") must be 0 (auto) or at least rollout.max_seqs (" +
                std::to_string(eo.max_seqs) + ")");
  eo.max_seq_len = longest + sampling_.max_tokens + 1;
  if (eo.max_seq_len > policy_.model->config().max_position_embeddings)
    throw Error("rollout.max_tokens: the longest prompt (" + std::to_string(longest) + " tokens) plus max_tokens " +
                std::to_string(sampling_.max_tokens) + " exceeds the model's context of " +
                std::to_string(policy_.model->config().max_position_embeddings));
  engine_ = std::make_unique<engine::Engine>(policy_.model, policy_.tokenizer, eo);

  osettings_ = optim_settings(cfg.at("trainer"), s_.steps);
  std::vector<torch::Tensor> params = policy_.model->parameters();
  optim_ = make_adamw(params, osettings_);
  guard_ = UpdateGuard(get<double>(cfg, "trainer.spike_factor"));
  const double kl_target = get<double>(cfg, "algorithm.kl_target");
  kl_ = kl_target > 0 ? algo::KLController::adaptive(s_.kl_coef, kl_target, get<double>(cfg, "algorithm.kl_horizon"))
                      : algo::KLController::fixed(s_.kl_coef);
  order_ = std::make_unique<DataOrder>(static_cast<int64_t>(train_.size()), seed);
  rng_.seed(mix_seed(seed, 0x7a11));

  if (!resume_from.empty()) {
    nlohmann::json st = load_checkpoint_state(resume_from, *optim_);
    start_step_ = st.at("step").get<int64_t>();
    order_->load(st.at("data"));
    std::istringstream(st.at("rng").get<std::string>()) >> rng_;
    guard_.load(st.at("guard"));
    skipped_ = st.at("skipped").get<int64_t>();
    if (kl_.is_adaptive()) kl_ = algo::KLController::adaptive(st.at("kl_coef").get<double>(), kl_target,
                                                              get<double>(cfg, "algorithm.kl_horizon"));
    log_info("resuming ", run_dir_, " from ", resume_from, " (step ", start_step_, ")");
  }
  write_file_atomic(run_dir_ + "/config.yaml", config::to_yaml(cfg));
}

nlohmann::json RLTrainer::state() const {
  std::ostringstream r;
  r << rng_;
  return {{"data", nlohmann::json::parse(order_->state().dump())}, {"rng", r.str()}, {"guard", guard_.state()},
          {"skipped", skipped_}, {"kl_coef", kl_.value()}};
}

void RLTrainer::save(int64_t step) {
  save_checkpoint(run_dir_, step, *policy_.model, *optim_, state(), policy_.tokenizer_dir, s_.keep);
}

std::vector<Rollout> RLTrainer::generate(int64_t step, int64_t gen_batch, int64_t count) {
  std::vector<int64_t> examples;
  for (int64_t i = 0; i < count; ++i) examples.push_back(order_->next());
  for (int64_t i = 0; i < count; ++i) {
    engine::Request r;
    r.prompt = train_ids_[examples[i]];
    r.params = sampling_;
    r.params.seed = mix_seed(s_.seed, static_cast<uint64_t>(step), static_cast<uint64_t>(gen_batch), static_cast<uint64_t>(i));
    r.id = std::to_string(i);
    engine_->submit(std::move(r));
  }
  auto done = engine_->run();
  std::vector<Rollout> out;
  for (const auto& c : done) {
    const int64_t i = std::stoll(c.request_id);
    Rollout ro;
    ro.example = examples[i];
    ro.group = gen_batch * 1000003 + i;
    ro.prompt = train_ids_[examples[i]];
    ro.response = c.tokens;
    ro.rollout_logp = c.processed_logprobs;
    ro.text = c.text;
    ro.finish = c.finish_reason;
    out.push_back(std::move(ro));
  }
  return out;
}

void RLTrainer::score(std::vector<Rollout>& rollouts, Json& m) {
  std::vector<double> comp_sum(s_.rewards.size(), 0.0);
  int64_t errors = 0;
  const int64_t max_tokens = sampling_.max_tokens;
  for (auto& ro : rollouts) {
    const auto& ex = train_[ro.example];
    reward::RewardInput in{ex.prompt, ro.text, ex.ground_truth, ex.task, ro.finish, ro.response};
    auto res = reward::score(s_.rewards, in);
    errors += res.errors;
    if (res.errors && errors == res.errors) log_warn("reward function failed: ", res.first_error);
    ro.reward = res.total;
    ro.components = res.components;
    for (size_t k = 0; k < res.components.size(); ++k) comp_sum[k] += res.components[k];
    ro.accuracy = s_.accuracy_index >= 0 ? res.components[s_.accuracy_index]
                                         : reward::score({{s_.accuracy_reward, 1.0}}, in).total;
    // DAPO's soft overlong penalty: linear over the last overlong_buffer tokens of the budget.
    if (s_.overlong_buffer > 0) {
      const int64_t over = static_cast<int64_t>(ro.response.size()) - (max_tokens - s_.overlong_buffer);
      if (over > 0) ro.reward -= std::min(1.0, static_cast<double>(over) / s_.overlong_buffer) * s_.overlong_penalty;
    }
  }
  // Summed over the generation batches of the step; run() divides by the rollout count.
  for (size_t k = 0; k < s_.rewards.size(); ++k) {
    const std::string key = "reward/" + s_.rewards[k].name;
    m[key] = (m.contains(key) ? m[key].get<double>() : 0.0) + comp_sum[k];
  }
  m["reward/errors"] = (m.contains("reward/errors") ? m["reward/errors"].get<int64_t>() : 0) + errors;
}

double RLTrainer::evaluate() {
  if (test_.empty()) return -1;
  engine::SamplingParams p = sampling_;
  p.temperature = 0.0;
  p.n = 1;
  for (size_t i = 0; i < test_.size(); ++i) {
    engine::Request r;
    r.prompt = test_ids_[i];
    r.params = p;
    r.id = "t" + std::to_string(i);
    engine_->submit(std::move(r));
  }
  auto done = engine_->run();
  double ok = 0;
  for (size_t i = 0; i < done.size(); ++i) {
    const auto& ex = test_[i];
    ok += reward::score({{s_.accuracy_reward, 1.0}}, {ex.prompt, done[i].text, ex.ground_truth, ex.task, done[i].finish_reason, done[i].tokens}).total;
  }
  return ok / static_cast<double>(done.size());
}

RLSummary RLTrainer::run() {
  RLSummary sum;
  sum.run_dir = run_dir_;
  MetricsLog metrics(run_dir_ + "/metrics.jsonl", opt_.resume ? start_step_ : -1);
  const double peak = measured_peak_flops();
  const double flops_tok = policy_.model->config().flops_per_token();
  auto& model = *policy_.model;
  const std::vector<torch::Tensor> params = model.parameters();
  log_info("rl: ", policy_.source, ", ", model.config().num_parameters(), " parameters; ", train_.size(), " train / ",
           test_.size(), " test prompts; ", s_.adv, " + ", s_.ploss, ", n = ", s_.n, ", ", s_.prompts, " prompts a step");
  if (start_step_ == 0 && s_.eval_every > 0) {
    sum.first_accuracy = evaluate();
    metrics.write({{"step", 0}, {"test/accuracy", sum.first_accuracy}});
  }
  Progress progress(s_.steps);
  const int64_t last = opt_.stop_after > 0 ? std::min(opt_.stop_after, s_.steps) : s_.steps;
  double last_acc = sum.first_accuracy;
  sum.steps_done = start_step_;
  for (int64_t step = start_step_ + 1; step <= last; ++step) {
    Json m;
    m["step"] = step;
    Stopwatch total, phase;
    const double lr = lr_at(osettings_, step);
    set_lr(*optim_, lr);

    // 1. Rollouts (and rewards, which dynamic sampling needs to decide what to keep).
    model.eval();
    std::vector<Rollout> rollouts;
    int64_t gen_batches = 0, dropped_groups = 0;
    double t_rollout = 0, t_reward = 0;
    std::vector<Rollout> all_for_stats;
    while (true) {
      const int64_t want = s_.prompts - static_cast<int64_t>(rollouts.size()) / s_.n;
      phase.lap();
      auto fresh = generate(step, gen_batches, s_.dynamic && gen_batches > 0 ? s_.prompts : want);
      t_rollout += phase.lap();
      score(fresh, m);
      t_reward += phase.lap();
      ++gen_batches;
      all_for_stats.insert(all_for_stats.end(), fresh.begin(), fresh.end());
      if (!s_.dynamic) {
        rollouts = std::move(fresh);
        break;
      }
      // DAPO dynamic sampling: a group whose rewards are all equal has zero advantage, so it
      // carries no signal; drop it and draw more prompts, up to max_gen_batches draws.
      std::map<int64_t, std::vector<size_t>> groups;
      for (size_t i = 0; i < fresh.size(); ++i) groups[fresh[i].group].push_back(i);
      for (auto& [g, idx] : groups) {
        bool all_equal = true;
        for (size_t k : idx) all_equal &= std::abs(fresh[k].reward - fresh[idx[0]].reward) < 1e-12;
        if (all_equal) {
          ++dropped_groups;
          continue;
        }
        if (static_cast<int64_t>(rollouts.size()) / s_.n < s_.prompts)
          for (size_t k : idx) rollouts.push_back(fresh[k]);
      }
      if (static_cast<int64_t>(rollouts.size()) / s_.n >= s_.prompts || gen_batches >= s_.max_gen_batches) break;
    }
    // Stats over everything generated this step.
    {
      std::vector<double> r, len, acc;
      int64_t trunc = 0, gen_tokens = 0;
      for (const auto& ro : all_for_stats) {
        r.push_back(ro.reward);
        acc.push_back(ro.accuracy);
        len.push_back(static_cast<double>(ro.response.size()));
        trunc += ro.finish == "length";
        gen_tokens += static_cast<int64_t>(ro.response.size());
      }
      const double mu = mean_of(r);
      double var = 0;
      for (double x : r) var += (x - mu) * (x - mu);
      for (const auto& spec : s_.rewards)
        m["reward/" + spec.name] = r.empty() ? 0.0 : m["reward/" + spec.name].get<double>() / static_cast<double>(r.size());
      m["reward/mean"] = mu;
      m["reward/std"] = r.size() > 1 ? std::sqrt(var / (r.size() - 1)) : 0.0;
      m["reward/min"] = r.empty() ? 0.0 : *std::min_element(r.begin(), r.end());
      m["reward/max"] = r.empty() ? 0.0 : *std::max_element(r.begin(), r.end());
      m["accuracy"] = mean_of(acc);
      m["response_length/mean"] = mean_of(len);
      m["response_length/max"] = len.empty() ? 0.0 : *std::max_element(len.begin(), len.end());
      m["truncation_rate"] = r.empty() ? 0.0 : static_cast<double>(trunc) / r.size();
      m["generated_tokens"] = gen_tokens;
      if (s_.dynamic) m["dynamic/dropped_groups"] = dropped_groups, m["dynamic/gen_batches"] = gen_batches;
    }

    const int64_t R = static_cast<int64_t>(rollouts.size());
    double t_ref = 0, t_update = 0;
    double train_tokens = 0;
    if (R == 0) {
      log_warn("step ", step, ": every group had equal rewards; nothing to learn from, no update");
      m["skipped"] = 1;
    } else {
      // 2. Old (and reference) log-probs, recomputed by the trainer's forward like verl.
      std::vector<std::vector<int64_t>> prompts, responses;
      std::vector<double> scores;
      std::vector<int64_t> groups;
      for (const auto& ro : rollouts) {
        prompts.push_back(ro.prompt);
        responses.push_back(ro.response);
        scores.push_back(ro.reward);
        groups.push_back(ro.group);
      }
      const int64_t pad = std::max<int64_t>(0, policy_.tokenizer->pad_id());
      TokenBatch batch = make_token_batch(prompts, responses, pad);
      const int64_t S1 = batch.mask.size(1);
      torch::Tensor old_logp = torch::zeros({R, S1}), ref_logp, old_values, entropy = torch::zeros({R, S1});
      const bool gae = s_.adv == "gae";
      if (gae) old_values = torch::zeros({R, S1});
      if (ref_) ref_logp = torch::zeros({R, S1});
      phase.lap();
      if (s_.rollout_logprobs) {
        // The engine's log-probs of the sampled tokens (at the sampling temperature) stand in for
        // the old policy's: the same weights, checked equal within 1e-4 by Engine tests.
        auto acc = old_logp.accessor<float, 2>();
        for (int64_t r = 0; r < R; ++r)
          for (size_t k = 0; k < rollouts[r].rollout_logp.size(); ++k)
            acc[r][batch.prompt_len[r] - 1 + static_cast<int64_t>(k)] = static_cast<float>(rollouts[r].rollout_logp[k]);
      }
      {
        torch::NoGradGuard ng;
        for (int64_t b = 0; b < R; b += s_.micro) {
          const int64_t cnt = std::min(s_.micro, R - b);
          TokenBatch mb = batch.slice(b, cnt);
          const int64_t w = mb.mask.size(1);
          if (!s_.rollout_logprobs) {
            auto sc = score_tokens(model, mb, s_.temperature, true, gae, false, s_.share_prompts);
            old_logp.narrow(0, b, cnt).narrow(1, 0, w).copy_(sc.logp);
            entropy.narrow(0, b, cnt).narrow(1, 0, w).copy_(sc.entropy);
            if (gae) old_values.narrow(0, b, cnt).narrow(1, 0, w).copy_(sc.values);
            train_tokens += static_cast<double>(mb.attention.sum().item<int64_t>());
          }
          if (ref_) {
            ref_logp.narrow(0, b, cnt).narrow(1, 0, w).copy_(score_tokens(*ref_, mb, s_.temperature, false, false, false, s_.share_prompts).logp);
            train_tokens += static_cast<double>(mb.attention.sum().item<int64_t>());
          }
        }
      }
      t_ref = phase.lap();
      const torch::Tensor mask = batch.mask;
      if (!s_.rollout_logprobs) m["entropy"] = algo::masked_mean(entropy, mask).item<double>();
      torch::Tensor token_rewards;
      if (ref_) {
        torch::Tensor kl = algo::kl_penalty(old_logp, ref_logp, s_.kl_est) * mask;
        const double kl_mean = algo::masked_mean(kl, mask).item<double>();
        m["kl"] = kl_mean;
        m["kl_coef"] = kl_.value();
        if (s_.kl_in_reward) token_rewards = -kl_.value() * kl;
        kl_.update(kl_mean, R);
      }

      // 3. Advantages.
      algo::AdvantageInput ain;
      ain.scores = torch::tensor(scores, torch::kFloat32);
      ain.group = torch::tensor(groups, torch::kInt64);
      ain.mask = mask;
      ain.token_rewards = token_rewards;
      ain.values = old_values;
      auto aout = algo::compute_advantages(s_.adv, ain, s_.aopt);
      m["advantage/mean"] = algo::masked_mean(aout.advantages, mask).item<double>();
      m["advantage/std"] = std::sqrt(algo::masked_mean((aout.advantages - algo::masked_mean(aout.advantages, mask)).pow(2), mask).item<double>());

      // 4. Policy update: ppo_epochs passes over shuffled mini-batches, one optimiser step each.
      phase.lap();
      model.train();
      const int64_t rows_full = s_.prompts * s_.n;
      const int64_t n_mini = std::max<int64_t>(1, rows_full / s_.mini);
      double loss_sum = 0, clip_sum = 0, dual_sum = 0, gnorm_sum = 0, approx_kl_sum = 0, vclip_sum = 0;
      int64_t updates = 0, skipped_now = 0;
      for (int64_t epoch = 0; epoch < s_.ppo_epochs; ++epoch) {
        std::vector<int64_t> perm(R);
        for (int64_t i = 0; i < R; ++i) perm[i] = i;
        std::shuffle(perm.begin(), perm.end(), rng_);
        for (int64_t k = 0; k < n_mini; ++k) {
          const int64_t lo = R * k / n_mini, hi = R * (k + 1) / n_mini;
          if (hi <= lo) continue;
          std::vector<int64_t> rows(perm.begin() + lo, perm.begin() + hi);
          // The mini-batch is a random set of rows; in row order its micro-batches hold whole
          // groups of a prompt's samples (for share_prompts). The order of the micro-batches does
          // not change the accumulated gradient.
          std::sort(rows.begin(), rows.end());
          double tok = 0;
          for (int64_t r : rows) tok += static_cast<double>(batch.response_len[r]);
          algo::PolicyLossOptions po = s_.popt;
          po.norm_tokens = tok;
          po.norm_seqs = static_cast<double>(rows.size());
          optim_->zero_grad();
          double loss_mb = 0, clip_mb = 0, dual_mb = 0, akl_mb = 0, vclip_mb = 0;
          for (size_t b = 0; b < rows.size(); b += static_cast<size_t>(s_.micro)) {
            std::vector<int64_t> sub(rows.begin() + b, rows.begin() + std::min(rows.size(), b + s_.micro));
            TokenBatch mb = batch.select(sub);
            const int64_t w = mb.mask.size(1);
            auto idx = torch::tensor(sub, torch::kInt64);
            auto pick = [&](const torch::Tensor& t) { return t.index_select(0, idx).narrow(1, 0, w); };
            // Entropy as a metric comes from the first epoch's forward when no old forward ran.
            const bool want_entropy = s_.entropy_coef > 0 || (s_.rollout_logprobs && epoch == 0);
            auto sc = score_tokens(model, mb, s_.temperature, want_entropy, gae, s_.entropy_coef > 0, s_.share_prompts);
            if (want_entropy && s_.rollout_logprobs && epoch == 0)
              entropy.narrow(1, 0, w).index_copy_(0, idx, sc.entropy.detach());
            auto pl = algo::policy_loss(s_.ploss, sc.logp, pick(old_logp), pick(aout.advantages), mb.mask, po);
            torch::Tensor loss = pl.loss;
            if (ref_ && !s_.kl_in_reward)
              loss = loss + kl_.value() * algo::aggregate_loss(algo::kl_penalty(sc.logp, pick(ref_logp), s_.kl_est), mb.mask,
                                                              s_.agg, tok, po.norm_seqs, po.max_len);
            if (s_.entropy_coef > 0)
              loss = loss - s_.entropy_coef * algo::aggregate_loss(sc.entropy, mb.mask, s_.agg, tok, po.norm_seqs, po.max_len);
            if (gae) {
              auto vl = algo::value_loss(sc.values, pick(old_values), pick(aout.returns), mb.mask, s_.value_clip, s_.agg, tok,
                                         po.norm_seqs);
              loss = loss + s_.vf_coef * vl.loss;
              vclip_mb += vl.clip_fraction * sub.size();
            }
            loss.backward();
            const double frac = static_cast<double>(sub.size()) / rows.size();
            loss_mb += loss.item<double>();
            clip_mb += pl.clip_fraction * frac;
            dual_mb += pl.dual_clip_fraction * frac;
            akl_mb += pl.approx_kl * frac;
            train_tokens += 3.0 * static_cast<double>(mb.attention.sum().item<int64_t>());
          }
          const double gnorm = clip_grad_norm(params, osettings_.grad_clip);
          const std::string why = guard_.check(loss_mb, gnorm);
          if (why.empty()) {
            optim_->step();
            guard_.accept(gnorm);
          } else {
            ++skipped_now;
            guard_.reject();
            log_warn("step ", step, ": update skipped (", why, ")");
          }
          optim_->zero_grad();
          loss_sum += loss_mb, clip_sum += clip_mb, dual_sum += dual_mb, approx_kl_sum += akl_mb;
          vclip_sum += vclip_mb / rows.size();
          gnorm_sum += gnorm;
          ++updates;
        }
      }
      t_update = phase.lap();
      if (s_.rollout_logprobs) m["entropy"] = algo::masked_mean(entropy, mask).item<double>();
      skipped_ += skipped_now;
      const double u = std::max<int64_t>(1, updates);
      m["loss"] = loss_sum / u;
      m["clip_fraction"] = clip_sum / u;
      m["dual_clip_fraction"] = dual_sum / u;
      m["approx_kl"] = approx_kl_sum / u;
      m["grad_norm"] = gnorm_sum / u;
      if (gae) m["value_clip_fraction"] = vclip_sum / u;
      m["skipped"] = skipped_now;
    }
    const double t_step = total.seconds();
    const int64_t gen_tokens = m["generated_tokens"].get<int64_t>();
    m["lr"] = lr;
    m["time/rollout"] = t_rollout;
    m["time/reward"] = t_reward;
    m["time/reference"] = t_ref;
    m["time/update"] = t_update;
    m["time/step"] = t_step;
    m["tokens_per_s"] = static_cast<double>(gen_tokens) / std::max(1e-9, t_step);
    m["mfu"] = flops_tok * (train_tokens + static_cast<double>(gen_tokens)) / std::max(1e-9, t_step) / peak;
    if (s_.eval_every > 0 && (step % s_.eval_every == 0 || step == s_.steps)) {
      last_acc = evaluate();
      m["test/accuracy"] = last_acc;
    }
    metrics.write(m);
    if (!opt_.quiet) {
      char line[200];
      std::snprintf(line, sizeof line, "reward %.3f  acc %.3f  test %.3f  len %.1f  %.1fs/step", m["reward/mean"].get<double>(),
                    m["accuracy"].get<double>(), last_acc, m["response_length/mean"].get<double>(), t_step);
      progress.update(step, line);
    }
    if (s_.save_every > 0 && step % s_.save_every == 0) save(step);
    sum.steps_done = step;
  }
  if (!opt_.quiet) progress.finish();
  sum.last_accuracy = last_acc;
  sum.skipped_updates = skipped_;
  if (sum.steps_done == s_.steps) {
    model::SaveOptions so;
    so.tokenizer_from = policy_.tokenizer_dir;
    model::save_model(*policy_.model, run_dir_ + "/model", so);
  }
  return sum;
}

RLSummary run_rl(const Json& config, const RunOptions& options) {
  RLTrainer t(config, options);
  return t.run();
}

}  // namespace arlt::train
