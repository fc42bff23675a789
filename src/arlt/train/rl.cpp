#include "arlt/train/rl.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "arlt/agent/agent_loop.h"
#include "arlt/algo/advantages.h"
#include "arlt/algo/kl.h"
#include "arlt/algo/policy_loss.h"
#include "arlt/algo/util.h"
#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/base/rng.h"
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

namespace {

// One response to one prompt, as the engine produced it and the rewards scored it.
struct Rollout {
  int64_t example = 0, group = 0;  // which training example; which prompt draw (the GRPO group)
  std::vector<int64_t> prompt, response;
  std::vector<double> rollout_logp;  // the engine's log-probs at the sampling temperature
  std::vector<uint8_t> mask;         // agent rollouts: 1 on generated tokens, 0 on observations (empty: all generated)
  std::string text, finish;
  double reward = 0, accuracy = 0;
  std::vector<double> components;  // each reward function's score, unweighted
  int64_t turns = 0, tool_calls = 0, invalid_actions = 0, tool_errors = 0;
  double tool_seconds = 0;
  // Tokens the policy generated (lengths, budgets and the overlong penalty count these only).
  int64_t generated() const {
    if (mask.empty()) return static_cast<int64_t>(response.size());
    int64_t n = 0;
    for (uint8_t m : mask) n += m;
    return n;
  }
};

// A trajectory of the agent loop as a rollout; its stop reason as the engine's finish reasons
// (a trajectory that ended on its own "stop"ped, as the format reward expects).
Rollout rollout_of(const agent::Trajectory& t) {
  Rollout ro;
  ro.prompt = t.prompt;
  ro.response = t.tokens;
  ro.mask = t.loss_mask;
  ro.rollout_logp = t.logprobs;
  ro.text = t.text;
  ro.finish = t.stop_reason == "finished" ? "stop" : t.stop_reason;
  ro.turns = t.turns, ro.tool_calls = t.tool_calls, ro.invalid_actions = t.invalid_actions, ro.tool_errors = t.tool_errors;
  ro.tool_seconds = t.tool_seconds;
  return ro;
}

// The rollouts a step trains on, as tensors: rows of prompt + response, and what each phase adds.
struct StepBatch {
  TokenBatch tokens;
  std::vector<double> scores;
  std::vector<int64_t> groups;
  torch::Tensor old_logp, ref_logp, old_values, entropy;  // [R, S-1]; ref and values only when used
  algo::AdvantageOutput advantages;
  int64_t rows() const { return tokens.rows(); }
};

// Seconds per phase, summed over the generation batches of a step.
struct StepTimes {
  double rollout = 0, reward = 0, reference = 0, update = 0;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// DAPO dynamic sampling: a group whose rewards are all equal has zero advantage, so it carries
// no signal.
bool all_rewards_equal(const std::vector<Rollout>& rs, const std::vector<size_t>& group) {
  for (size_t k : group)
    if (std::abs(rs[k].reward - rs[group[0]].reward) >= 1e-12) return false;
  return true;
}

// An estimator reads only some of the algorithm's options: one set away from its default that
// the chosen estimator does not read is most likely a mistake, so say so.
void warn_unused_options(const AlgorithmSection& a, const algo::AdvantageEstimator& est) {
  const AlgorithmSection d;
  const auto check = [&](const char* key, bool set, const std::string& value) {
    if (!set || std::find(est.options.begin(), est.options.end(), key) != est.options.end()) return;
    std::string reads;
    for (const auto& o : est.options) reads += (reads.empty() ? "" : ", ") + o;
    log_warn("algorithm.", key, " = ", value, " has no effect with advantage '", a.advantage, "' (it reads: ",
             reads.empty() ? "no options" : reads, ")");
  };
  check("norm_by_std", a.norm_by_std != d.norm_by_std, a.norm_by_std ? "true" : "false");
  check("gamma", a.gamma != d.gamma, std::to_string(a.gamma));
  check("lam", a.lam != d.lam, std::to_string(a.lam));
}

}  // namespace

// The loop lives in one class so that each phase of a step is a method, readable on its own.
class RLTrainer {
 public:
  RLTrainer(const Json& resolved, const RunOptions& opt);
  RLSummary run();

 private:
  // The phases of one step, in the order run() calls them.
  std::vector<Rollout> collect_rollouts(int64_t step, Json& m, StepTimes& t);
  StepBatch make_step_batch(const std::vector<Rollout>& rollouts) const;
  double old_and_reference_logprobs(StepBatch& b, const std::vector<Rollout>& rollouts, Json& m);
  void compute_advantages(StepBatch& b, Json& m);
  double update_policy(int64_t step, StepBatch& b, Json& m);
  void write_step(int64_t step, Json& m, const StepTimes& t, double train_tokens, double lr, double* last_acc);

  // Parts of the phases.
  std::vector<Rollout> generate(int64_t step, int64_t gen_batch, int64_t count);
  std::vector<Rollout> generate_with_tools(const std::vector<int64_t>& examples, uint64_t seed, const engine::SamplingParams& p);
  void score(std::vector<Rollout>& rollouts, Json& metrics);
  void rollout_stats(const std::vector<Rollout>& all, Json& m) const;
  double evaluate();
  nlohmann::json state() const;
  void save(int64_t step);

  const RLConfig c_;
  const Json resolved_;
  const RunOptions opt_;
  std::string run_dir_;
  Policy policy_;
  std::shared_ptr<model::Transformer> ref_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<tools::ToolSet> tools_;     // agent.enable: the tools and the loop that calls them
  std::unique_ptr<agent::AgentLoop> agent_;
  std::unique_ptr<torch::optim::AdamW> optim_;
  OptimSettings optim_settings_;
  UpdateGuard guard_;
  algo::KLController kl_ = algo::KLController::fixed(0.0);
  std::vector<reward::RewardSpec> rewards_;
  int accuracy_index_ = -1;  // where reward.accuracy sits in rewards_ (-1: scored on its own)
  bool value_head_ = false, rollout_logprobs_ = false;
  std::vector<data::Example> train_, test_;
  std::vector<std::vector<int64_t>> train_ids_, test_ids_;
  std::unique_ptr<DataOrder> order_;
  Rng minibatch_rng_;  // mini-batch order (base/rng.h: the same on every standard library)
  engine::SamplingParams sampling_;
  std::unique_ptr<MetricsLog> metrics_;
  int64_t start_step_ = 0, skipped_ = 0;
};

RLTrainer::RLTrainer(const Json& resolved, const RunOptions& opt)
    : c_(RLConfig::parse(resolved)), resolved_(resolved), opt_(opt), run_dir_(c_.run.out) {
  rewards_ = reward::parse_reward_specs(c_.reward.functions);
  for (size_t k = 0; k < rewards_.size(); ++k)
    if (rewards_[k].name == c_.reward.accuracy) accuracy_index_ = static_cast<int>(k);
  const algo::AdvantageEstimator estimator = algo::advantage_estimator(c_.algorithm.advantage);
  value_head_ = estimator.needs_values;
  warn_unused_options(c_.algorithm, estimator);
  rollout_logprobs_ = c_.algorithm.old_logprobs == "rollout";
  fs::create_directories(run_dir_);
  std::string resume_from;
  if (opt.resume) {
    resume_from = latest_checkpoint(run_dir_);
    if (resume_from.empty()) throw Error("--resume: no checkpoint in " + run_dir_ + "/checkpoints");
  } else if (!latest_checkpoint(run_dir_).empty()) {
    throw Error("run.out: " + run_dir_ + " already holds checkpoints of an earlier run; continue it with --resume or "
                "choose another run.out");
  }
  policy_ = load_policy(c_.model, c_.tokenizer, run_dir_, value_head_, resume_from.empty() ? "" : resume_from + "/model");
  // The reference policy is the initial one, also after a resume.
  const double kl_coef = c_.algorithm.kl_coef;
  if (kl_coef > 0) ref_ = resume_from.empty() ? nullptr : load_policy(c_.model, c_.tokenizer, run_dir_, false).model;
  if (kl_coef > 0 && !ref_) {
    ref_ = std::make_shared<model::Transformer>(policy_.model->config(), false);
    torch::NoGradGuard ng;
    auto src = policy_.model->named_parameters(true);
    for (auto& p : ref_->named_parameters(true)) p.value().copy_(src[p.key()]);
  }
  if (ref_) ref_->eval();

  const uint64_t seed = c_.run.seed;
  train_ = load_examples(c_.data, "train", seed);
  test_ = load_examples(c_.data, "test", seed);
  int64_t longest = 0;
  for (const auto& e : train_) train_ids_.push_back(encode_prompt(*policy_.tokenizer, e, c_.data.chat_template));
  for (const auto& e : test_) test_ids_.push_back(encode_prompt(*policy_.tokenizer, e, c_.data.chat_template));
  for (const auto& v : train_ids_) longest = std::max<int64_t>(longest, v.size());
  for (const auto& v : test_ids_) longest = std::max<int64_t>(longest, v.size());

  const auto& r = c_.rollout;
  sampling_.temperature = r.temperature;
  sampling_.top_p = r.top_p;
  sampling_.top_k = r.top_k;
  sampling_.max_tokens = r.max_tokens;
  sampling_.n = r.n;
  for (const auto& st : r.stop)
    if (!st.empty()) sampling_.stop.push_back(st);
  sampling_.ignore_eos = r.ignore_eos;
  if (policy_.tokenizer->eos_id() >= 0 && !sampling_.ignore_eos) sampling_.stop_token_ids = {policy_.tokenizer->eos_id()};
  sampling_.validate();

  engine::EngineOptions eo;
  eo.max_seqs = r.max_seqs;
  eo.max_batch_tokens = r.max_batch_tokens;
  eo.max_seq_len = longest + sampling_.max_tokens + 1;
  if (eo.max_seq_len > policy_.model->config().max_position_embeddings)
    throw Error("rollout.max_tokens: the longest prompt (" + std::to_string(longest) + " tokens) plus max_tokens " +
                std::to_string(sampling_.max_tokens) + " exceeds the model's context of " +
                std::to_string(policy_.model->config().max_position_embeddings));
  engine_ = std::make_unique<engine::Engine>(policy_.model, policy_.tokenizer, eo);
  if (c_.agent.enable) {
    const auto& ag = c_.agent;
    tools_ = std::make_unique<tools::ToolSet>();
    if (!ag.tools_url.empty()) tools_->add(tools::make_tool("remote", {{"url", ag.tools_url}, {"timeout", 6 * ag.tool_timeout}}));
    for (const auto& name : ag.tools_url.empty() ? ag.tools : std::vector<std::string>{}) {
      tools::Json options = {{"timeout", ag.tool_timeout}};
      if (name == "sql") options["db_root"] = ag.db_root;
      if (name == "search") options = {{"corpus", ag.search_corpus}, {"top_k", ag.search_top_k}};
      if (name == "calculator") options = tools::Json::object();
      tools_->add(tools::make_tool(name, options));
    }
    agent::AgentOptions ao;
    ao.action_stops = ag.action_stops;
    ao.max_turns = ag.max_turns;
    ao.max_response_tokens = r.max_tokens;
    ao.max_action_tokens = ag.max_action_tokens > 0 ? std::min(ag.max_action_tokens, r.max_tokens) : r.max_tokens;
    ao.max_obs_tokens = ag.max_obs_tokens;
    ao.truncation = agent::parse_truncation(ag.truncation, "agent.truncation");
    ao.end_on_invalid = ag.end_on_invalid;
    agent_ = std::make_unique<agent::AgentLoop>(*engine_, *policy_.tokenizer, *tools_, ao);
  }

  optim_settings_ = c_.trainer.optim;
  optim_settings_.total_steps = std::max<int64_t>(1, c_.run.steps);
  optim_ = make_adamw(policy_.model->parameters(), optim_settings_);
  guard_ = UpdateGuard(c_.trainer.spike_factor);
  const auto& a = c_.algorithm;
  kl_ = a.kl_target > 0 ? algo::KLController::adaptive(kl_coef, a.kl_target, a.kl_horizon) : algo::KLController::fixed(kl_coef);
  order_ = std::make_unique<DataOrder>(static_cast<int64_t>(train_.size()), seed);
  minibatch_rng_ = Rng(mix_seed(seed, 0x7a11));

  if (!resume_from.empty()) {
    nlohmann::json st = load_checkpoint_state(resume_from, *optim_);
    start_step_ = st.at("step").get<int64_t>();
    order_->load(st.at("data"));
    minibatch_rng_ = Rng(std::stoull(st.at("rng").get<std::string>()));
    guard_.load(st.at("guard"));
    skipped_ = st.at("skipped").get<int64_t>();
    if (kl_.is_adaptive()) kl_ = algo::KLController::adaptive(st.at("kl_coef").get<double>(), a.kl_target, a.kl_horizon);
    log_info("resuming ", run_dir_, " from ", resume_from, " (step ", start_step_, ")");
  }
  write_file_atomic(run_dir_ + "/config.yaml", config::to_yaml(resolved_));
}

nlohmann::json RLTrainer::state() const {
  return {{"data", nlohmann::json::parse(order_->state().dump())}, {"rng", std::to_string(minibatch_rng_.state())},
          {"guard", guard_.state()}, {"skipped", skipped_}, {"kl_coef", kl_.value()}};
}

void RLTrainer::save(int64_t step) {
  save_checkpoint(run_dir_, step, *policy_.model, *optim_, state(), policy_.tokenizer_dir, c_.run.keep);
}

// ---- the step -------------------------------------------------------------------------------

RLSummary RLTrainer::run() {
  RLSummary sum;
  sum.run_dir = run_dir_;
  auto& model = *policy_.model;
  measured_peak_flops();  // the MFU's yardstick, measured once (~0.3 s) before the timed steps
  log_info("rl: ", policy_.source, ", ", model.config().num_parameters(), " parameters; ", train_.size(), " train / ",
           test_.size(), " test prompts; ", c_.algorithm.advantage, " + ", c_.algorithm.policy_loss, ", n = ", c_.rollout.n,
           ", ", c_.trainer.prompts_per_step, " prompts a step");
  // A resume drops the lines of the steps it redoes.
  metrics_ = std::make_unique<MetricsLog>(run_dir_ + "/metrics.jsonl", opt_.resume ? start_step_ : -1);
  if (start_step_ == 0 && c_.run.eval_every > 0) {
    sum.first_accuracy = evaluate();
    metrics_->write({{"step", 0}, {"test/accuracy", sum.first_accuracy}});
  }
  Progress progress(c_.run.steps);
  const int64_t last = opt_.stop_after > 0 ? std::min(opt_.stop_after, c_.run.steps) : c_.run.steps;
  double last_acc = sum.first_accuracy;
  sum.steps_done = start_step_;
  for (int64_t step = start_step_ + 1; step <= last; ++step) {
    Json m;
    m["step"] = step;
    StepTimes times;
    Stopwatch total;
    const double lr = lr_at(optim_settings_, step);
    set_lr(*optim_, lr);
    double train_tokens = 0;
    // 1. Rollouts from the engine, scored (dynamic sampling draws more until enough groups vary).
    std::vector<Rollout> rollouts = collect_rollouts(step, m, times);
    if (rollouts.empty()) {
      log_warn("step ", step, ": every group had equal rewards; nothing to learn from, no update");
      m["skipped"] = 1;
    } else {
      StepBatch batch = make_step_batch(rollouts);
      // 2. Old (and reference) log-probs, recomputed by the trainer's forward like verl.
      Stopwatch phase;
      train_tokens += old_and_reference_logprobs(batch, rollouts, m);
      times.reference = phase.lap();
      // 3. Advantages.
      compute_advantages(batch, m);
      // 4. The policy update.
      phase.lap();
      train_tokens += update_policy(step, batch, m);
      times.update = phase.lap();
    }
    // 5. Metrics, evaluation, checkpoint.
    m["time/step"] = total.seconds();
    write_step(step, m, times, train_tokens, lr, &last_acc);
    if (!opt_.quiet) {
      char line[200];
      std::snprintf(line, sizeof line, "reward %.3f  acc %.3f  test %.3f  len %.1f  %.1fs/step", m["reward/mean"].get<double>(),
                    m["accuracy"].get<double>(), last_acc, m["response_length/mean"].get<double>(), m["time/step"].get<double>());
      progress.update(step, line);
    }
    if (c_.run.save_every > 0 && step % c_.run.save_every == 0) save(step);
    sum.steps_done = step;
  }
  if (!opt_.quiet) progress.finish();
  sum.last_accuracy = last_acc;
  sum.skipped_updates = skipped_;
  if (sum.steps_done == c_.run.steps) {
    model::SaveOptions so;
    so.tokenizer_from = policy_.tokenizer_dir;
    model::save_model(*policy_.model, run_dir_ + "/model", so);
  }
  return sum;
}

// ---- 1. rollouts ----------------------------------------------------------------------------

std::vector<Rollout> RLTrainer::collect_rollouts(int64_t step, Json& m, StepTimes& t) {
  policy_.model->eval();
  const int64_t prompts = c_.trainer.prompts_per_step, n = c_.rollout.n;
  const bool dynamic = c_.algorithm.dynamic_sampling;
  std::vector<Rollout> kept, all;
  int64_t gen_batches = 0, dropped_groups = 0;
  Stopwatch phase;
  while (true) {
    const int64_t want = prompts - static_cast<int64_t>(kept.size()) / n;
    phase.lap();
    auto fresh = generate(step, gen_batches, dynamic && gen_batches > 0 ? prompts : want);
    t.rollout += phase.lap();
    score(fresh, m);
    t.reward += phase.lap();
    ++gen_batches;
    all.insert(all.end(), fresh.begin(), fresh.end());
    if (!dynamic) {
      kept = std::move(fresh);
      break;
    }
    // Dynamic sampling: drop the groups without signal, keep whole groups up to prompts_per_step,
    // draw more prompts, at most max_gen_batches draws.
    std::map<int64_t, std::vector<size_t>> groups;
    for (size_t i = 0; i < fresh.size(); ++i) groups[fresh[i].group].push_back(i);
    for (auto& [g, idx] : groups) {
      if (all_rewards_equal(fresh, idx)) {
        ++dropped_groups;
        continue;
      }
      if (static_cast<int64_t>(kept.size()) / n < prompts)
        for (size_t k : idx) kept.push_back(fresh[k]);
    }
    if (static_cast<int64_t>(kept.size()) / n >= prompts || gen_batches >= c_.algorithm.max_gen_batches) break;
  }
  rollout_stats(all, m);
  if (dynamic) m["dynamic/dropped_groups"] = dropped_groups, m["dynamic/gen_batches"] = gen_batches;
  return kept;
}

std::vector<Rollout> RLTrainer::generate(int64_t step, int64_t gen_batch, int64_t count) {
  std::vector<int64_t> examples;
  for (int64_t i = 0; i < count; ++i) examples.push_back(order_->next());
  if (agent_) {
    std::vector<Rollout> out = generate_with_tools(examples, mix_seed(c_.run.seed, static_cast<uint64_t>(step), static_cast<uint64_t>(gen_batch)), sampling_);
    for (auto& ro : out) ro.group += gen_batch * 1000003;
    return out;
  }
  for (int64_t i = 0; i < count; ++i) {
    engine::Request r;
    r.prompt = train_ids_[examples[i]];
    r.params = sampling_;
    r.params.seed = mix_seed(c_.run.seed, static_cast<uint64_t>(step), static_cast<uint64_t>(gen_batch), static_cast<uint64_t>(i));
    r.id = std::to_string(i);
    engine_->submit(std::move(r));
  }
  std::vector<Rollout> out;
  for (const auto& c : engine_->run()) {
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

// n trajectories for each example through the agent loop; group = the example's position.
std::vector<Rollout> RLTrainer::generate_with_tools(const std::vector<int64_t>& examples, uint64_t seed, const engine::SamplingParams& p) {
  std::vector<agent::AgentTask> tasks;
  for (int64_t e : examples)
    tasks.push_back({"ex" + std::to_string(e), train_ids_[e], tools::Json::parse(train_[e].extra_fields.dump())});
  engine::SamplingParams sp = p;
  sp.seed = seed;
  std::vector<Rollout> out;
  for (const auto& t : agent_->run(tasks, sp)) {
    Rollout ro = rollout_of(t);
    ro.example = examples[static_cast<size_t>(t.task)];
    ro.group = t.task;
    out.push_back(std::move(ro));
  }
  return out;
}

void RLTrainer::score(std::vector<Rollout>& rollouts, Json& m) {
  std::vector<double> comp_sum(rewards_.size(), 0.0);
  int64_t errors = 0;
  const int64_t max_tokens = sampling_.max_tokens, buffer = c_.reward.overlong_buffer;
  for (auto& ro : rollouts) {
    const auto& ex = train_[ro.example];
    reward::RewardInput in{ex.prompt, ro.text, ex.ground_truth, ex.task, ro.finish, ro.response};
    auto res = reward::score(rewards_, in);
    errors += res.errors;
    if (res.errors && errors == res.errors) log_warn("reward function failed: ", res.first_error);
    ro.reward = res.total;
    ro.components = res.components;
    for (size_t k = 0; k < res.components.size(); ++k) comp_sum[k] += res.components[k];
    ro.accuracy = accuracy_index_ >= 0 ? res.components[accuracy_index_] : reward::score({{c_.reward.accuracy, 1.0}}, in).total;
    // DAPO's soft overlong penalty: linear over the last overlong_buffer tokens of the budget.
    if (buffer > 0) {
      const int64_t over = ro.generated() - (max_tokens - buffer);
      if (over > 0) ro.reward -= std::min(1.0, static_cast<double>(over) / buffer) * c_.reward.overlong_penalty;
    }
  }
  // Summed over the generation batches of the step; rollout_stats() divides by the rollout count.
  for (size_t k = 0; k < rewards_.size(); ++k) {
    const std::string key = "reward/" + rewards_[k].name;
    m[key] = (m.contains(key) ? m[key].get<double>() : 0.0) + comp_sum[k];
  }
  m["reward/errors"] = (m.contains("reward/errors") ? m["reward/errors"].get<int64_t>() : 0) + errors;
}

// Stats over everything generated this step (dropped groups included).
void RLTrainer::rollout_stats(const std::vector<Rollout>& all, Json& m) const {
  std::vector<double> r, len, acc;
  int64_t trunc = 0, gen_tokens = 0;
  double turns = 0, calls = 0, invalid = 0, tool_errors = 0, tool_seconds = 0;
  for (const auto& ro : all) {
    r.push_back(ro.reward);
    acc.push_back(ro.accuracy);
    len.push_back(static_cast<double>(ro.generated()));
    trunc += ro.finish == "length";
    gen_tokens += ro.generated();
    turns += ro.turns, calls += ro.tool_calls, invalid += ro.invalid_actions, tool_errors += ro.tool_errors, tool_seconds += ro.tool_seconds;
  }
  if (agent_ && !all.empty()) {
    const double n = static_cast<double>(all.size());
    m["agent/turns"] = turns / n;
    m["agent/tool_calls"] = calls / n;
    m["agent/tool_call_rate"] = static_cast<double>(std::count_if(all.begin(), all.end(), [](const Rollout& ro) { return ro.tool_calls > 0; })) / n;
    m["agent/invalid_actions"] = invalid / n;
    m["agent/tool_errors"] = tool_errors / n;
    m["agent/tool_seconds"] = tool_seconds;
  }
  const double mu = mean_of(r);
  double var = 0;
  for (double x : r) var += (x - mu) * (x - mu);
  for (const auto& spec : rewards_)
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
}

StepBatch RLTrainer::make_step_batch(const std::vector<Rollout>& rollouts) const {
  std::vector<std::vector<int64_t>> prompts, responses;
  std::vector<std::vector<uint8_t>> masks;
  StepBatch b;
  for (const auto& ro : rollouts) {
    prompts.push_back(ro.prompt);
    responses.push_back(ro.response);
    masks.push_back(ro.mask.empty() ? std::vector<uint8_t>(ro.response.size(), 1) : ro.mask);
    b.scores.push_back(ro.reward);
    b.groups.push_back(ro.group);
  }
  b.tokens = make_token_batch(prompts, responses, std::max<int64_t>(0, policy_.tokenizer->pad_id()), masks);
  return b;
}

// ---- 2. old and reference log-probs ----------------------------------------------------------

// Returns the tokens the forwards ran (for the MFU).
double RLTrainer::old_and_reference_logprobs(StepBatch& b, const std::vector<Rollout>& rollouts, Json& m) {
  const int64_t R = b.rows(), S1 = b.tokens.mask.size(1), micro = c_.trainer.micro_batch_size;
  b.old_logp = torch::zeros({R, S1});
  b.entropy = torch::zeros({R, S1});
  if (value_head_) b.old_values = torch::zeros({R, S1});
  if (ref_) b.ref_logp = torch::zeros({R, S1});
  if (rollout_logprobs_) {
    // The engine's log-probs of the sampled tokens (at the sampling temperature) stand in for
    // the old policy's: the same weights and the same distribution (model/token_logp.h).
    auto acc = b.old_logp.accessor<float, 2>();
    for (int64_t r = 0; r < R; ++r)
      for (size_t k = 0; k < rollouts[r].rollout_logp.size(); ++k)
        acc[r][b.tokens.prompt_len[r] - 1 + static_cast<int64_t>(k)] = static_cast<float>(rollouts[r].rollout_logp[k]);
  }
  ScoreOptions policy_scores;
  policy_scores.temperature = c_.rollout.temperature;
  policy_scores.entropy = true;
  policy_scores.values = value_head_;
  policy_scores.share_prompts = c_.trainer.share_prompts;
  ScoreOptions ref_scores;
  ref_scores.temperature = c_.rollout.temperature;
  ref_scores.share_prompts = c_.trainer.share_prompts;
  double tokens = 0;
  torch::NoGradGuard ng;
  for (int64_t lo = 0; lo < R; lo += micro) {
    const int64_t cnt = std::min(micro, R - lo);
    TokenBatch mb = b.tokens.slice(lo, cnt);
    const int64_t w = mb.mask.size(1);
    const auto into = [&](torch::Tensor& dst, const torch::Tensor& src) { dst.narrow(0, lo, cnt).narrow(1, 0, w).copy_(src); };
    const double mb_tokens = static_cast<double>(mb.attention.sum().item<int64_t>());
    if (!rollout_logprobs_) {
      auto sc = score_tokens(*policy_.model, mb, policy_scores);
      into(b.old_logp, sc.logp);
      into(b.entropy, sc.entropy);
      if (value_head_) into(b.old_values, sc.values);
      tokens += mb_tokens;
    }
    if (ref_) {
      into(b.ref_logp, score_tokens(*ref_, mb, ref_scores).logp);
      tokens += mb_tokens;
    }
  }
  if (!rollout_logprobs_) m["entropy"] = algo::masked_mean(b.entropy, b.tokens.mask).item<double>();
  return tokens;
}

// ---- 3. advantages --------------------------------------------------------------------------

void RLTrainer::compute_advantages(StepBatch& b, Json& m) {
  const torch::Tensor& mask = b.tokens.mask;
  torch::Tensor token_rewards;
  if (ref_) {
    torch::Tensor kl = algo::kl_penalty(b.old_logp, b.ref_logp, c_.algorithm.kl_estimator) * mask;
    const double kl_mean = algo::masked_mean(kl, mask).item<double>();
    m["kl"] = kl_mean;
    m["kl_coef"] = kl_.value();
    if (c_.algorithm.kl_in_reward) token_rewards = -kl_.value() * kl;
    kl_.update(kl_mean, b.rows());
  }
  algo::AdvantageInput in;
  in.scores = torch::tensor(b.scores, torch::kFloat32);
  in.group = torch::tensor(b.groups, torch::kInt64);
  in.mask = mask;
  in.token_rewards = token_rewards;
  in.values = b.old_values;
  algo::AdvantageOptions opt;
  opt.norm_by_std = c_.algorithm.norm_by_std;
  opt.gamma = c_.algorithm.gamma;
  opt.lam = c_.algorithm.lam;
  b.advantages = algo::compute_advantages(c_.algorithm.advantage, in, opt);
  const torch::Tensor& adv = b.advantages.advantages;
  m["advantage/mean"] = algo::masked_mean(adv, mask).item<double>();
  m["advantage/std"] = std::sqrt(algo::masked_mean((adv - algo::masked_mean(adv, mask)).pow(2), mask).item<double>());
}

// ---- 4. the policy update ---------------------------------------------------------------------

// ppo_epochs passes over shuffled mini-batches, one optimiser step each, gradients accumulated
// over micro-batches. Returns the tokens the forwards and backwards ran (x3, for the MFU).
double RLTrainer::update_policy(int64_t step, StepBatch& b, Json& m) {
  auto& model = *policy_.model;
  const auto& a = c_.algorithm;
  const int64_t R = b.rows(), micro = c_.trainer.micro_batch_size;
  const int64_t updates_per_epoch = std::max<int64_t>(1, c_.trainer.prompts_per_step * c_.rollout.n / c_.rollouts_per_update());
  const std::vector<torch::Tensor> params = model.parameters();
  const bool entropy_bonus = a.entropy_coef > 0;
  algo::PolicyLossOptions loss_opt;
  loss_opt.clip_low = a.clip_low, loss_opt.clip_high = a.clip_high, loss_opt.dual_clip = a.dual_clip;
  loss_opt.log_ratio_clamp = a.log_ratio_clamp;
  loss_opt.aggregation.mode = a.loss_aggregation;
  loss_opt.aggregation.max_len = static_cast<double>(c_.rollout.max_tokens);
  model.train();
  double loss_sum = 0, clip_sum = 0, dual_sum = 0, gnorm_sum = 0, approx_kl_sum = 0, vclip_sum = 0, tokens = 0;
  int64_t updates = 0, skipped_now = 0;
  for (int64_t epoch = 0; epoch < c_.trainer.ppo_epochs; ++epoch) {
    std::vector<int64_t> perm(R);
    for (int64_t i = 0; i < R; ++i) perm[i] = i;
    shuffle(perm, minibatch_rng_);
    for (int64_t k = 0; k < updates_per_epoch; ++k) {
      const int64_t lo = R * k / updates_per_epoch, hi = R * (k + 1) / updates_per_epoch;
      if (hi <= lo) continue;
      // The mini-batch is a random set of rows; in row order its micro-batches hold whole groups
      // of a prompt's samples (for share_prompts). Their order does not change the gradient.
      std::vector<int64_t> rows(perm.begin() + lo, perm.begin() + hi);
      std::sort(rows.begin(), rows.end());
      algo::Aggregation agg = loss_opt.aggregation;
      for (int64_t r : rows) agg.norm_tokens += static_cast<double>(b.tokens.trained_len[r]);
      agg.norm_seqs = static_cast<double>(rows.size());
      algo::PolicyLossOptions po = loss_opt;
      po.aggregation = agg;
      optim_->zero_grad();
      double loss_mb = 0, clip_mb = 0, dual_mb = 0, akl_mb = 0, vclip_mb = 0;
      for (size_t s = 0; s < rows.size(); s += static_cast<size_t>(micro)) {
        std::vector<int64_t> sub(rows.begin() + s, rows.begin() + std::min(rows.size(), s + micro));
        TokenBatch mb = b.tokens.select(sub);
        const int64_t w = mb.mask.size(1);
        auto idx = torch::tensor(sub, torch::kInt64);
        auto pick = [&](const torch::Tensor& t) { return t.index_select(0, idx).narrow(1, 0, w); };
        // Entropy as a metric comes from the first epoch's forward when no old forward ran.
        const bool entropy_metric = rollout_logprobs_ && epoch == 0;
        ScoreOptions so;
        so.temperature = c_.rollout.temperature;
        so.entropy = entropy_bonus || entropy_metric;
        so.values = value_head_;
        so.entropy_grad = entropy_bonus;
        so.share_prompts = c_.trainer.share_prompts;
        auto sc = score_tokens(model, mb, so);
        if (entropy_metric) b.entropy.narrow(1, 0, w).index_copy_(0, idx, sc.entropy.detach());
        auto pl = algo::policy_loss(a.policy_loss, sc.logp, pick(b.old_logp), pick(b.advantages.advantages), mb.mask, po);
        torch::Tensor loss = pl.loss;
        if (ref_ && !a.kl_in_reward)
          loss = loss + kl_.value() * algo::aggregate_loss(algo::kl_penalty(sc.logp, pick(b.ref_logp), a.kl_estimator), mb.mask, agg);
        if (entropy_bonus) loss = loss - a.entropy_coef * algo::aggregate_loss(sc.entropy, mb.mask, agg);
        if (value_head_) {
          auto vl = algo::value_loss(sc.values, pick(b.old_values), pick(b.advantages.returns), mb.mask, a.value_clip, agg);
          loss = loss + a.vf_coef * vl.loss;
          vclip_mb += vl.clip_fraction * sub.size();
        }
        loss.backward();
        const double frac = static_cast<double>(sub.size()) / rows.size();
        loss_mb += loss.item<double>();
        clip_mb += pl.clip_fraction * frac;
        dual_mb += pl.dual_clip_fraction * frac;
        akl_mb += pl.approx_kl * frac;
        tokens += 3.0 * static_cast<double>(mb.attention.sum().item<int64_t>());
      }
      const double gnorm = clip_grad_norm(params, optim_settings_.grad_clip);
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
  if (rollout_logprobs_) m["entropy"] = algo::masked_mean(b.entropy, b.tokens.mask).item<double>();
  skipped_ += skipped_now;
  const double u = std::max<int64_t>(1, updates);
  m["loss"] = loss_sum / u;
  m["clip_fraction"] = clip_sum / u;
  m["dual_clip_fraction"] = dual_sum / u;
  m["approx_kl"] = approx_kl_sum / u;
  m["grad_norm"] = gnorm_sum / u;
  if (value_head_) m["value_clip_fraction"] = vclip_sum / u;
  m["skipped"] = skipped_now;
  return tokens;
}

// ---- 5. metrics, evaluation -------------------------------------------------------------------

void RLTrainer::write_step(int64_t step, Json& m, const StepTimes& t, double train_tokens, double lr, double* last_acc) {
  const double t_step = m["time/step"].get<double>();
  const int64_t gen_tokens = m["generated_tokens"].get<int64_t>();
  m["lr"] = lr;
  m["time/rollout"] = t.rollout;
  m["time/reward"] = t.reward;
  m["time/reference"] = t.reference;
  m["time/update"] = t.update;
  m["tokens_per_s"] = static_cast<double>(gen_tokens) / std::max(1e-9, t_step);
  m["mfu"] = policy_.model->config().flops_per_token() * (train_tokens + static_cast<double>(gen_tokens)) /
             std::max(1e-9, t_step) / measured_peak_flops();
  if (c_.run.eval_every > 0 && (step % c_.run.eval_every == 0 || step == c_.run.steps)) {
    *last_acc = evaluate();
    m["test/accuracy"] = *last_acc;
  }
  metrics_->write(m);
}

double RLTrainer::evaluate() {
  if (test_.empty()) return -1;
  engine::SamplingParams p = sampling_;
  p.temperature = 0.0;
  p.n = 1;
  if (agent_) {  // with the tools, greedy, one trajectory a prompt
    std::vector<agent::AgentTask> tasks;
    for (size_t i = 0; i < test_.size(); ++i)
      tasks.push_back({"t" + std::to_string(i), test_ids_[i], tools::Json::parse(test_[i].extra_fields.dump())});
    double ok = 0;
    for (const auto& t : agent_->run(tasks, p)) {
      const auto& ex = test_[static_cast<size_t>(t.task)];
      ok += reward::score({{c_.reward.accuracy, 1.0}}, {ex.prompt, t.text, ex.ground_truth, ex.task,
                                                       t.stop_reason == "finished" ? "stop" : t.stop_reason, t.tokens}).total;
    }
    return ok / static_cast<double>(test_.size());
  }
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
    ok += reward::score({{c_.reward.accuracy, 1.0}},
                        {ex.prompt, done[i].text, ex.ground_truth, ex.task, done[i].finish_reason, done[i].tokens})
              .total;
  }
  return ok / static_cast<double>(done.size());
}

RLSummary run_rl(const Json& config, const RunOptions& options) {
  RLTrainer t(config, options);
  return t.run();
}

}  // namespace arlt::train
