// The trainers' configs, typed: one struct per section, each field's default written once (its
// member initialiser) and its key written once (in the section's visit()). From these come the
// schema config::load_config checks files and overrides against (rl_defaults(), sft_defaults():
// unknown keys and wrong types are errors naming file, line and key), the parse of the resolved
// config into the structs, and, by test, examples/*.yaml. The checks of values that no type can
// express (ranges, names, combinations) are each config's validate(), naming the key.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/train/optim.h"

namespace arlt::train {

using Json = nlohmann::ordered_json;

// A section's field that takes any keys (a task's options): its default is {"*": null}.
struct FreeMap {
  Json value = Json::object();
};

struct RunSection {
  std::string out = "runs/rl";  // run folder
  uint64_t seed = 0;
  int64_t steps = 100, eval_every = 10, save_every = 0, keep = 2;
  template <typename V>
  void visit(V& v) {
    v("out", out), v("seed", seed), v("steps", steps), v("eval_every", eval_every), v("save_every", save_every), v("keep", keep);
  }
};

struct ModelSection {
  std::string path, preset = "tiny", dtype;
  uint64_t init_seed = 0;
  template <typename V>
  void visit(V& v) {
    v("path", path), v("preset", preset), v("dtype", dtype), v("init_seed", init_seed);
  }
};

struct TokenizerSection {
  std::string path;
  template <typename V>
  void visit(V& v) {
    v("path", path);
  }
};

// Where examples come from: a built-in task, or JSONL files (train plus test for RL, val for SFT).
struct DataSection {
  std::string task = "addition";
  FreeMap task_params;
  std::string train, test;
  int64_t train_size = 5000, test_size = 200;
  std::string prompt_key = "prompt", answer_key = "ground_truth";
  bool chat_template = false;
  template <typename V>
  void visit(V& v) {
    v("task", task), v("task_params", task_params), v("train", train), v("test", test), v("train_size", train_size),
        v("test_size", test_size), v("prompt_key", prompt_key), v("answer_key", answer_key), v("chat_template", chat_template);
  }
};

struct RolloutSection {
  int64_t n = 8, max_tokens = 16;
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0;
  std::vector<std::string> stop;  // "" entries are ignored
  bool ignore_eos = false;
  int64_t max_seqs = 256, max_batch_tokens = 0;
  template <typename V>
  void visit(V& v) {
    v("n", n), v("max_tokens", max_tokens), v("temperature", temperature), v("top_p", top_p), v("top_k", top_k), v("stop", stop),
        v("ignore_eos", ignore_eos), v("max_seqs", max_seqs), v("max_batch_tokens", max_batch_tokens);
  }
};

struct RewardSection {
  std::string functions = "exact_match", accuracy = "exact_match";
  int64_t overlong_buffer = 0;
  double overlong_penalty = 1.0;
  template <typename V>
  void visit(V& v) {
    v("functions", functions), v("accuracy", accuracy), v("overlong_buffer", overlong_buffer), v("overlong_penalty", overlong_penalty);
  }
};

struct AlgorithmSection {
  std::string advantage = "grpo";
  bool norm_by_std = true;
  double gamma = 1.0, lam = 1.0;
  std::string policy_loss = "ppo";
  double clip_low = 0.2, clip_high = 0.2, dual_clip = 3.0, log_ratio_clamp = 20.0;
  std::string loss_aggregation = "token-mean";  // key loss_agg (verl's name)
  double kl_coef = 0.0;
  std::string kl_estimator = "k3";
  bool kl_in_reward = false;
  double kl_target = 0.0, kl_horizon = 10000.0, entropy_coef = 0.0, vf_coef = 0.5, value_clip = 0.2;
  bool dynamic_sampling = false;
  int64_t max_gen_batches = 4;
  std::string old_logprobs = "recompute";  // recompute | rollout
  template <typename V>
  void visit(V& v) {
    v("advantage", advantage), v("norm_by_std", norm_by_std), v("gamma", gamma), v("lam", lam), v("policy_loss", policy_loss),
        v("clip_low", clip_low), v("clip_high", clip_high), v("dual_clip", dual_clip), v("log_ratio_clamp", log_ratio_clamp),
        v("loss_agg", loss_aggregation), v("kl_coef", kl_coef), v("kl_estimator", kl_estimator), v("kl_in_reward", kl_in_reward),
        v("kl_target", kl_target), v("kl_horizon", kl_horizon), v("entropy_coef", entropy_coef), v("vf_coef", vf_coef),
        v("value_clip", value_clip), v("dynamic_sampling", dynamic_sampling), v("max_gen_batches", max_gen_batches),
        v("old_logprobs", old_logprobs);
  }
};

// Multi-turn rollouts with tools (agent/, tools/): off unless enable.
struct AgentSection {
  bool enable = false;
  std::vector<std::string> tools = {"python_code"};  // tool names (arlt tools list)
  std::vector<std::string> action_stops = {"</python>", "</sql>", "</tool_call>", "```output"};
  int64_t max_turns = 4;          // tool calls per trajectory
  int64_t max_action_tokens = 0;  // tokens one turn may generate; 0 = rollout.max_tokens (the whole response's budget)
  int64_t max_obs_tokens = 256;   // longer observations are cut
  std::string truncation = "middle";  // left | right | middle
  bool end_on_invalid = true;     // an action no tool takes ends the trajectory
  double tool_timeout = 10.0;     // seconds an action may run (python_code, sql)
  std::string db_root = ".";      // sql: the folder a task's db_path is relative to
  std::string tools_url;          // "http://host:port": the tools of a server of VerlTool's API instead of `tools`
  std::string search_corpus;      // search: the JSONL of passages ({"id", "title", "text"})
  int64_t search_top_k = 3;       // search: passages an answer holds
  template <typename V>
  void visit(V& v) {
    v("enable", enable), v("tools", tools), v("tools_url", tools_url), v("search_corpus", search_corpus), v("search_top_k", search_top_k), v("action_stops", action_stops), v("max_turns", max_turns),
        v("max_action_tokens", max_action_tokens), v("max_obs_tokens", max_obs_tokens), v("truncation", truncation),
        v("end_on_invalid", end_on_invalid), v("tool_timeout", tool_timeout), v("db_root", db_root);
  }
};

struct RLTrainerSection {
  int64_t prompts_per_step = 16, ppo_epochs = 1;
  int64_t mini_batch_size = 0;  // rollouts per optimizer step; 0 = the whole batch
  int64_t micro_batch_size = 64;
  bool share_prompts = true;
  OptimSettings optim;  // its keys sit in this section (lr, betas, ...)
  double spike_factor = 10.0;
  template <typename V>
  void visit(V& v) {
    v("prompts_per_step", prompts_per_step), v("ppo_epochs", ppo_epochs), v("mini_batch_size", mini_batch_size),
        v("micro_batch_size", micro_batch_size), v("share_prompts", share_prompts);
    optim.visit(v);
    v("spike_factor", spike_factor);
  }
};

struct RLConfig {
  RunSection run;
  ModelSection model;
  TokenizerSection tokenizer;
  DataSection data;
  RolloutSection rollout;
  RewardSection reward;
  AlgorithmSection algorithm;
  RLTrainerSection trainer;
  AgentSection agent;
  template <typename V>
  void visit(V& v) {
    v("run", run), v("model", model), v("tokenizer", tokenizer), v("data", data), v("rollout", rollout), v("reward", reward),
        v("algorithm", algorithm), v("trainer", trainer), v("agent", agent);
  }
  // From a resolved config (rl_defaults() with a file and overrides on top); then validate().
  static RLConfig parse(const Json& resolved);
  // Every value no type can rule out (a range, a name, a combination) is an Error naming its key.
  void validate() const;
  // The mini-batch size with 0 (the whole batch) resolved.
  int64_t rollouts_per_update() const;
};

struct SFTDataSection {
  std::string task;
  FreeMap task_params;
  std::string train, val;
  int64_t train_size = 2000, val_size = 200;
  std::string prompt_key = "prompt", response_key = "response";
  bool chat_template = false;
  int64_t max_len = 256;
  bool packing = true;
  template <typename V>
  void visit(V& v) {
    v("task", task), v("task_params", task_params), v("train", train), v("val", val), v("train_size", train_size),
        v("val_size", val_size), v("prompt_key", prompt_key), v("response_key", response_key), v("chat_template", chat_template),
        v("max_len", max_len), v("packing", packing);
  }
};

struct SFTTrainerSection {
  int64_t batch_size = 32, micro_batch_size = 0;  // sequences (or packed rows) per step; 0 = batch_size
  OptimSettings optim = sft_optim();
  double spike_factor = 0.0;
  template <typename V>
  void visit(V& v) {
    v("batch_size", batch_size), v("micro_batch_size", micro_batch_size);
    optim.visit(v);
    v("spike_factor", spike_factor);
  }
  // Supervised warm-up steps larger: lr 1e-3 with 10 warm-up steps, weight decay 0.01, beta2 0.95.
  static OptimSettings sft_optim() {
    OptimSettings o;
    o.lr = 1e-3, o.warmup_steps = 10, o.weight_decay = 0.01, o.beta2 = 0.95;
    return o;
  }
};

struct SFTConfig {
  RunSection run = sft_run();
  ModelSection model;
  TokenizerSection tokenizer;
  SFTDataSection data;
  SFTTrainerSection trainer;
  template <typename V>
  void visit(V& v) {
    v("run", run), v("model", model), v("tokenizer", tokenizer), v("data", data), v("trainer", trainer);
  }
  static RunSection sft_run() {
    RunSection r;
    r.out = "runs/sft", r.steps = 500, r.eval_every = 100;
    return r;
  }
  static SFTConfig parse(const Json& resolved);
  void validate() const;
};

// Every key the RL / SFT config accepts, with its default: the schema of config::load_config.
Json rl_defaults();
Json sft_defaults();

}  // namespace arlt::train
