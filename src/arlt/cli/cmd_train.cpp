// arlt train CONFIG: online RL (GRPO family, PPO), configured by a YAML file plus dotted
// overrides (trainer.lr=1e-6).
#include <cstdio>
#include <string>

#include "arlt/cli/commands.h"
#include "arlt/cli/train_options.h"
#include "arlt/train/rl.h"

namespace arlt::cli {

void add_train(CLI::App& app) {
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
}

}  // namespace arlt::cli
