// What `arlt sft` and `arlt train` share: a YAML config, dotted overrides, --resume,
// --stop-after, --quiet, --print-config, resolved against the trainer's defaults.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/config/config.h"

namespace arlt::cli {

struct TrainOpts {
  std::string config;
  std::vector<std::string> overrides;
  bool resume = false, quiet = false, print_config = false;
  int64_t stop_after = 0;
};

inline void add_common(CLI::App* sub, const std::shared_ptr<TrainOpts>& o) {
  sub->add_option("config", o->config, "YAML config (see examples/); \"\" or omitted = the defaults");
  sub->add_option("overrides", o->overrides, "dotted overrides, e.g. trainer.lr=1e-6 run.out=runs/x");
  sub->add_flag("--resume", o->resume, "continue from the newest checkpoint of run.out");
  sub->add_option("--stop-after", o->stop_after, "stop after this step (as a pre-emption would); --resume continues");
  sub->add_flag("--quiet", o->quiet, "no progress line");
  sub->add_flag("--print-config", o->print_config, "print the resolved config and exit");
}

inline nlohmann::ordered_json resolve(const nlohmann::ordered_json& defaults, TrainOpts& o) {
  // A first positional argument with '=' is an override, not a file.
  if (o.config.find('=') != std::string::npos) {
    o.overrides.insert(o.overrides.begin(), o.config);
    o.config.clear();
  }
  return config::load_config(defaults, o.config, o.overrides);
}

}  // namespace arlt::cli
