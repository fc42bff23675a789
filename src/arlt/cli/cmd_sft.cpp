// arlt sft CONFIG: supervised fine-tuning, configured by a YAML file plus dotted overrides.
#include <cstdio>

#include "arlt/cli/commands.h"
#include "arlt/cli/train_options.h"
#include "arlt/train/sft.h"

namespace arlt::cli {

void add_sft(CLI::App& app) {
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
}

}  // namespace arlt::cli
