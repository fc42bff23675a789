// Supervised fine-tuning: masked cross-entropy on the response tokens of prompt/response pairs
// (JSONL, chat messages through the chat template, or a built-in task's worked examples),
// short sequences packed into rows without attending across each other, validation loss.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "arlt/train/rl.h"
#include "arlt/train/settings.h"  // sft_defaults(), SFTConfig

namespace arlt::train {

struct SFTSummary {
  int64_t steps_done = 0, skipped_updates = 0, train_sequences = 0, truncated = 0;
  double first_val_loss = -1, last_val_loss = -1, last_loss = -1;
  std::string run_dir;
};

SFTSummary run_sft(const nlohmann::ordered_json& config, const RunOptions& options);

}  // namespace arlt::train
