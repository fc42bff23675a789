// arlt sft CONFIG / arlt train CONFIG: the trainers, configured by a YAML file plus dotted
// overrides (trainer.lr=1e-6), and arlt export CHECKPOINT --out DIR.
#include <cstdio>
#include <filesystem>

#include "arlt/base/error.h"
#include "arlt/cli/commands.h"
#include "arlt/config/config.h"
#include "arlt/model/hf_folder.h"
#include "arlt/train/checkpoint.h"
#include "arlt/train/rl.h"
#include "arlt/train/sft.h"

namespace arlt::cli {
namespace {

struct TrainOpts {
  std::string config;
  std::vector<std::string> overrides;
  bool resume = false, quiet = false, print_config = false;
  int64_t stop_after = 0;
};

void add_common(CLI::App* sub, const std::shared_ptr<TrainOpts>& o) {
  sub->add_option("config", o->config, "YAML config (see examples/); \"\" or omitted = the defaults");
  sub->add_option("overrides", o->overrides, "dotted overrides, e.g. trainer.lr=1e-6 run.out=runs/x");
  sub->add_flag("--resume", o->resume, "continue from the newest checkpoint of run.out");
  sub->add_option("--stop-after", o->stop_after, "stop after this step (as a pre-emption would); --resume continues");
  sub->add_flag("--quiet", o->quiet, "no progress line");
  sub->add_flag("--print-config", o->print_config, "print the resolved config and exit");
}

nlohmann::ordered_json resolve(const nlohmann::ordered_json& defaults, TrainOpts& o) {
  // A first positional argument with '=' is an override, not a file.
  if (o.config.find('=') != std::string::npos) {
    o.overrides.insert(o.overrides.begin(), o.config);
    o.config.clear();
  }
  return config::load_config(defaults, o.config, o.overrides);
}

}  // namespace

void add_train(CLI::App& app) {
  auto so = std::make_shared<TrainOpts>();
  CLI::App* sft = app.add_subcommand("sft", "supervised fine-tuning on prompt/response pairs (masked cross-entropy)");
  add_common(sft, so);
  sft->callback([so] {
    auto cfg = resolve(train::sft_defaults(), *so);
    if (so->print_config) return (void)std::printf("%s", config::to_yaml(cfg).c_str());
    auto s = train::run_sft(cfg, {so->resume, so->stop_after, so->quiet});
    std::printf("sft: %lld steps, final loss %.4f, validation loss %.4f (start %.4f), %lld updates skipped; run folder %s\n",
                (long long)s.steps_done, s.last_loss, s.last_val_loss, s.first_val_loss, (long long)s.skipped_updates,
                s.run_dir.c_str());
  });

  auto ro = std::make_shared<TrainOpts>();
  CLI::App* rl = app.add_subcommand("train", "online RL: GRPO / RLOO / REINFORCE++ / PPO with rollouts from the engine");
  add_common(rl, ro);
  rl->callback([ro] {
    auto cfg = resolve(train::rl_defaults(), *ro);
    if (ro->print_config) return (void)std::printf("%s", config::to_yaml(cfg).c_str());
    auto s = train::run_rl(cfg, {ro->resume, ro->stop_after, ro->quiet});
    auto pct = [](double a) {
      if (a < 0) return std::string("n/a");  // not measured in this invocation (a resume, or eval_every 0)
      char b[32];
      std::snprintf(b, sizeof b, "%.1f%%", 100 * a);
      return std::string(b);
    };
    std::printf("train: %lld steps, test accuracy %s -> %s, %lld updates skipped; run folder %s\n", (long long)s.steps_done,
                pct(s.first_accuracy).c_str(), pct(s.last_accuracy).c_str(), (long long)s.skipped_updates, s.run_dir.c_str());
  });

  struct ExportOpts {
    std::string checkpoint, out, dtype;
  };
  auto eo = std::make_shared<ExportOpts>();
  CLI::App* ex = app.add_subcommand("export", "write a checkpoint (or a run folder's newest) as a Hugging Face model folder");
  ex->add_option("checkpoint", eo->checkpoint, "RUN/checkpoints/step_N, or RUN for its newest checkpoint")->required();
  ex->add_option("--out", eo->out, "output folder")->required();
  ex->add_option("--dtype", eo->dtype, "float32, bfloat16 or float16 (default: as trained)");
  ex->callback([eo] {
    namespace fs = std::filesystem;
    std::string dir = eo->checkpoint;
    if (fs::exists(fs::path(dir) / "checkpoints")) {
      dir = train::latest_checkpoint(dir);
      if (dir.empty()) throw Error("export: " + eo->checkpoint + " has no checkpoint");
    }
    const fs::path model_dir = fs::path(dir) / "model";
    if (!fs::exists(model_dir / "config.json"))
      throw Error("export: " + dir + " is not a checkpoint (no model/config.json)");
    auto m = model::load_model(model_dir.string());
    model::SaveOptions s;
    s.tokenizer_from = model_dir.string();
    if (!eo->dtype.empty()) s.dtype = model::parse_dtype(eo->dtype, "--dtype");
    model::save_model(*m, eo->out, s);
    std::printf("exported %s to %s\n", dir.c_str(), eo->out.c_str());
  });
}

}  // namespace arlt::cli
