// arlt demo: the built-in default job, end to end on a fresh machine in about three minutes.
//   1. trains a small BPE tokenizer (digits kept apart) on worked examples of the task,
//   2. builds the tiny built-in model with random weights,
//   3. SFT on 400 worked examples for 55 steps: on purpose a model that has the format but is
//      right only part of the time (about 30% greedy test accuracy on the default task),
//   4. GRPO on the built-in task with the exact-match reward, rollouts from the engine at
//      temperature 0.7 on the policy's own weights,
// and prints greedy test accuracy (a split disjoint from training) before and after RL, and
// where the report is. The default task is `format` ("wrap cat sun:" -> "<cat><sun>"): the tiny
// model learns it in minutes on 2 cores, where two-digit addition needs far longer.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/cli/commands.h"
#include "arlt/config/config.h"
#include "arlt/data/tasks.h"
#include "arlt/model/hf_folder.h"
#include "arlt/report/report.h"
#include "arlt/tokenizer/bpe_trainer.h"
#include "arlt/train/rl.h"
#include "arlt/train/sft.h"

namespace arlt::cli {
namespace {
constexpr int64_t kAgentSftSteps = 100, kAgentRlSteps = 60;

std::string num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// Steps 1 and 2 of both demos: a 320-token BPE tokenizer (digits kept apart) trained on `corpus`
// into OUT/tokenizer, and the tiny model with random weights saved with it into OUT/init.
struct DemoStart {
  std::string tokenizer_dir, init_dir;
  int vocab_size = 0;
  model::ModelConfig config;
};

DemoStart tokenizer_and_tiny_model(const std::filesystem::path& out, const std::string& corpus, uint64_t seed) {
  DemoStart d;
  tokenizer::BpeTrainOptions bo;
  bo.vocab_size = 320;
  bo.individual_digits = true;
  bo.special_tokens = {"<|endoftext|>"};
  d.vocab_size = bo.vocab_size;
  d.tokenizer_dir = (out / "tokenizer").string();
  tokenizer::save_trained_tokenizer(d.tokenizer_dir, tokenizer::train_bpe(corpus, bo), bo);
  d.config = model::ModelConfig::preset("tiny");
  model::Transformer m(d.config);
  m.init_random(seed);
  model::SaveOptions so;
  so.tokenizer_from = d.tokenizer_dir;
  d.init_dir = (out / "init").string();
  model::save_model(m, d.init_dir, so);
  return d;
}
}  // namespace

// The tool demo: a tiny model cannot multiply 3-digit numbers in its head, but it can learn to
// ask the calculator. SFT on a few hundred tool-use traces (prompt, the call, the tool's result
// masked, the answer) gives it the format; GRPO with the calculator in the loop (multi-turn
// rollouts, observation tokens masked) raises test accuracy and the tool-call rate.
void run_agent_demo(const std::string& out_dir, uint64_t seed, bool quiet) {
  namespace fs = std::filesystem;
  const fs::path out(out_dir);
  fs::create_directories(out);
  const nlohmann::json task_params = {{"digits", 3}, {"second_digits", 3}};
  const std::string params = "data.task_params={digits: 3, second_digits: 3}";
  // 1. Tool-use traces of the task's train split, and a tokenizer trained on them.
  std::string corpus, traces;
  for (const auto& ex : data::make_task_examples("multiplication", "train", 2000, seed + 100, task_params)) {
    const std::string expr = ex.prompt.substr(0, ex.prompt.size() - 1);  // "123*456=" -> "123*456"
    const std::string call = "<calculator>" + expr + "</calculator>", result = "\n<result>\n" + ex.ground_truth + "\n</result>\n",
                      answer = "<answer>" + ex.ground_truth + "</answer>";
    corpus += ex.prompt + call + result + answer + "\n";
    traces += nlohmann::json({{"prompt", ex.prompt},
                              {"response", {{{"assistant", call}}, {{"tool", result}}, {{"assistant", answer}}}}}).dump() + "\n";
  }
  write_file_atomic((out / "traces.jsonl").string(), traces);
  const DemoStart start = tokenizer_and_tiny_model(out, corpus, seed);
  const std::string& init_dir = start.init_dir;
  const model::ModelConfig& config = start.config;
  std::printf("agent demo: 3-by-3-digit products with the calculator tool; tiny model, %lld parameters\n",
              (long long)config.num_parameters());
  std::fflush(stdout);
  // 2. SFT on the traces (the tool's result is masked, as in RL).
  const auto sft = config::load_config(train::sft_defaults(), "", {
      "run.out=" + (out / "sft").string(), "run.steps=" + std::to_string(kAgentSftSteps), "run.seed=" + std::to_string(seed),
      "run.eval_every=0", "model.path=" + init_dir, "data.task=''", "data.train=" + (out / "traces.jsonl").string(),
      "data.max_len=96", "trainer.batch_size=16", "trainer.lr=3e-3"});
  const auto s = train::run_sft(sft, {false, 0, quiet});
  std::printf("SFT: %lld steps on %lld tool-use traces, final loss %.3f\n", (long long)s.steps_done, (long long)s.train_sequences,
              s.last_loss);
  std::fflush(stdout);
  // 3. GRPO with the calculator in the loop.
  const auto rl = config::load_config(train::rl_defaults(), "", {
      "run.out=" + (out / "rl").string(), "run.steps=" + std::to_string(kAgentRlSteps), "run.seed=" + std::to_string(seed),
      "run.eval_every=10", "model.path=" + (out / "sft" / "model").string(), "data.task=multiplication", params,
      "data.test_size=100", "rollout.n=8", "rollout.max_tokens=48", "rollout.temperature=0.7", "trainer.prompts_per_step=16",
      "trainer.lr=3e-4", "trainer.warmup_steps=3", "agent.enable=true", "agent.tools=[calculator]",
      "agent.action_stops=['</calculator>']", "agent.max_turns=2"});
  const auto r = train::run_rl(rl, {false, 0, quiet});
  const auto rep = report::write_report((out / "rl").string());
  double first_rate = -1, last_rate = -1;
  std::istringstream lines(read_file((out / "rl" / "metrics.jsonl").string()));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("agent/tool_call_rate")) continue;
    if (first_rate < 0) first_rate = j["agent/tool_call_rate"].get<double>();
    last_rate = j["agent/tool_call_rate"].get<double>();
  }
  std::printf("tool-call rate of the rollouts: %5.1f%% at the first RL step, %5.1f%% at the last\n", 100 * first_rate, 100 * last_rate);
  std::printf("test accuracy before RL: %5.1f%%\n", 100 * r.first_accuracy);
  std::printf("test accuracy after RL:  %5.1f%%  (%+.1f points)\n", 100 * r.last_accuracy, 100 * (r.last_accuracy - r.first_accuracy));
  std::printf("report: %s; model: %s/rl/model\n", rep.html.c_str(), out_dir.c_str());
}

void add_demo(CLI::App& app) {
  struct Opts {
    std::string out = "runs/demo", task = "format";
    int64_t sft_steps = 55, rl_steps = 100, sft_examples = 400;
    uint64_t seed = 1;
    double sft_lr = 3e-3, rl_lr = 3e-4, temperature = 0.7;
    bool quiet = false, agent = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("demo", "tokenizer, tiny model, SFT, then GRPO on a built-in task: accuracy before/after RL");
  sub->add_option("--out", o->out, "run folder")->capture_default_str();
  sub->add_option("--task", o->task, "built-in task")->capture_default_str();
  sub->add_option("--sft-steps", o->sft_steps, "SFT steps")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--sft-examples", o->sft_examples, "worked examples SFT sees")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--rl-steps", o->rl_steps, "GRPO steps")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--seed", o->seed, "random seed")->capture_default_str();
  sub->add_option("--sft-lr", o->sft_lr, "SFT learning rate")->capture_default_str();
  sub->add_option("--rl-lr", o->rl_lr, "GRPO learning rate")->capture_default_str();
  sub->add_option("--temperature", o->temperature, "sampling temperature of the GRPO rollouts")->capture_default_str();
  sub->add_flag("--quiet", o->quiet, "no progress lines");
  sub->add_flag("--agent", o->agent, "the tool demo instead: 3-by-3-digit products with the calculator tool (docs/agent.md)");
  sub->callback([o] {
    if (o->agent) return run_agent_demo(o->out, o->seed, o->quiet);
    namespace fs = std::filesystem;
    const fs::path out(o->out);
    fs::create_directories(out);

    // 1. Tokenizer, 2. model.
    std::string corpus;
    for (const auto& ex : data::make_task_examples(o->task, "train", 3000, o->seed + 100))
      corpus += ex.prompt + ex.ground_truth + "\n";
    const DemoStart start = tokenizer_and_tiny_model(out, corpus, o->seed);
    const std::string& tok_dir = start.tokenizer_dir;
    const std::string& init_dir = start.init_dir;
    const model::ModelConfig& config = start.config;
    std::printf("demo: task %s; tokenizer %s (BPE, %d tokens); tiny %s with %lld parameters\n", o->task.c_str(),
                tok_dir.c_str(), start.vocab_size, config.architecture.c_str(), (long long)config.num_parameters());
    std::fflush(stdout);

    // 3. SFT on a few worked examples.
    const auto sft = config::load_config(train::sft_defaults(), "", {
        "run.out=" + (out / "sft").string(),
        "run.steps=" + std::to_string(o->sft_steps),
        "run.seed=" + std::to_string(o->seed),
        "run.eval_every=50",
        "model.path=" + init_dir,
        "data.task=" + o->task,
        "data.train_size=" + std::to_string(o->sft_examples),
        "data.max_len=64",
        "trainer.batch_size=16",
        "trainer.lr=" + num(o->sft_lr)});
    const auto s = train::run_sft(sft, {false, 0, o->quiet});
    std::printf("SFT: %lld steps on %lld worked examples, validation loss %.3f -> %.3f\n", (long long)s.steps_done,
                (long long)s.train_sequences, s.first_val_loss, s.last_val_loss);
    std::fflush(stdout);

    // 4. GRPO.
    const auto rl = config::load_config(train::rl_defaults(), "", {
        "run.out=" + (out / "rl").string(),
        "run.steps=" + std::to_string(o->rl_steps),
        "run.seed=" + std::to_string(o->seed),
        "run.eval_every=20",
        "model.path=" + (out / "sft" / "model").string(),
        "data.task=" + o->task,
        "rollout.n=8",
        "rollout.max_tokens=" + std::to_string(o->task == "format" ? 24 : 8),
        "rollout.temperature=" + num(o->temperature),
        "trainer.prompts_per_step=32",
        "trainer.lr=" + num(o->rl_lr),
        "trainer.warmup_steps=5"});
    const auto r = train::run_rl(rl, {false, 0, o->quiet});
    const auto rep = report::write_report((out / "rl").string());
    std::printf("test accuracy before RL: %5.1f%%\n", 100 * r.first_accuracy);
    std::printf("test accuracy after RL:  %5.1f%%  (%+.1f points)\n", 100 * r.last_accuracy,
                100 * (r.last_accuracy - r.first_accuracy));
    std::printf("report: %s (reward curve %s); model: %s/rl/model\n", rep.html.c_str(), rep.png.c_str(), o->out.c_str());
    if (r.last_accuracy <= r.first_accuracy) throw runtime_failure("demo: accuracy did not rise with RL");
  });
}

}  // namespace arlt::cli
