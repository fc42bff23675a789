// Checkpoints of a training run: RUN/checkpoints/step_N/ holds model/ (a Hugging Face model
// folder with the tokenizer files), optimizer.pt (torch's archive of the optimiser state) and
// state.json (step, data position, random-number states, controller and guard state). A
// checkpoint is written into a temporary folder and renamed into place, so a crash mid-write
// leaves the previous one intact; the last `keep` are kept.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/model/transformer.h"

namespace arlt::train {

// Writes step_N and prunes older ones beyond `keep` (0 = keep all). Returns the folder.
std::string save_checkpoint(const std::string& run_dir, int64_t step, model::Transformer& model,
                            torch::optim::Optimizer& optimizer, const nlohmann::json& state,
                            const std::string& tokenizer_dir, int64_t keep);

// The checkpoint folders of a run, oldest first (complete ones only: those with state.json).
std::vector<std::string> list_checkpoints(const std::string& run_dir);
// The newest one, or "" when there is none.
std::string latest_checkpoint(const std::string& run_dir);

// Reads state.json and loads the optimiser state (the model is loaded with model::load_model
// from <checkpoint>/model). Errors name the checkpoint and the file.
nlohmann::json load_checkpoint_state(const std::string& checkpoint_dir, torch::optim::Optimizer& optimizer);

}  // namespace arlt::train
