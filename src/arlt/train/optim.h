// Optimiser, learning-rate schedule and the update guard shared by the trainers.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace arlt::train {

// AdamW and its schedule: the keys of a trainer section (lr, warmup_steps, ...; train/settings.h
// puts them there). The defaults are the RL trainer's; SFT's differ (settings.h).
struct OptimSettings {
  double lr = 1e-5;
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;        // the cosine ends at lr * min_lr_ratio
  std::string schedule = "cosine";  // "cosine" or "constant" (both after the linear warm-up)
  double weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double grad_clip = 1.0;     // max global grad norm; 0 = off
  int64_t total_steps = 1;    // not a key: the run's steps
  template <typename V>
  void visit(V& v) {
    v("lr", lr), v("warmup_steps", warmup_steps), v("min_lr_ratio", min_lr_ratio), v("schedule", schedule),
        v("weight_decay", weight_decay), v("betas", beta1, beta2), v("eps", eps), v("grad_clip", grad_clip);
  }
  // Errors name the key under `section` ("trainer.lr: must be a positive number").
  void validate(const std::string& section = "trainer") const;
};

// The keys present in a trainer config section over the defaults above (the others keep them),
// validated, with total_steps set.
OptimSettings optim_settings(const nlohmann::ordered_json& section, int64_t total_steps);

// Learning rate of optimiser step `step` (1-based): linear warm-up from lr/warmup to lr, then
// cosine from lr down to lr*min_lr_ratio at total_steps (or constant).
double lr_at(const OptimSettings& s, int64_t step);

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const OptimSettings& s);
void set_lr(torch::optim::Optimizer& opt, double lr);

// Global L2 norm of the gradients, clipped to max_norm when max_norm > 0; returns the norm
// before clipping (NaN/Inf when a gradient is not finite).
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Refuses an update whose loss or grad norm is not finite, or whose grad norm spikes above
// `factor` times its running mean (an exponential mean over accepted updates, after `warmup` of
// them). Refused updates are logged by the caller and never applied. The loss itself is not
// tested for spikes: a PPO loss hovers around zero, so its running mean says nothing. After 3
// spikes in a row the new scale is taken as real (a policy that starts solving a task has larger
// gradients), so the guard cannot stop training for good; non-finite updates are always refused.
class UpdateGuard {
 public:
  explicit UpdateGuard(double factor = 10.0, int64_t warmup = 5) : factor_(factor), warmup_(warmup) {}
  // "" when the update may be applied, else the reason.
  std::string check(double loss, double grad_norm) const;
  void accept(double grad_norm);
  void reject() { ++rejected_in_a_row_; }
  nlohmann::json state() const;
  void load(const nlohmann::json& state);

 private:
  double factor_;
  int64_t warmup_;
  int64_t accepted_ = 0, rejected_in_a_row_ = 0;
  double mean_gnorm_ = 0.0;
};

}  // namespace arlt::train
