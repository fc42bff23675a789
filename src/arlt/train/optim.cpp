#include "arlt/train/optim.h"

#include <cmath>

#include "arlt/base/error.h"
#include "arlt/train/settings_io.h"

namespace arlt::train {

void OptimSettings::validate(const std::string& sec) const {
  if (!(lr > 0) || !std::isfinite(lr)) throw Error(sec + ".lr: must be a positive number, found " + std::to_string(lr));
  if (!(weight_decay >= 0)) throw Error(sec + ".weight_decay: must be >= 0");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw Error(sec + ".betas: each must be in [0, 1)");
  if (!(eps > 0)) throw Error(sec + ".eps: must be > 0");
  if (!(grad_clip >= 0)) throw Error(sec + ".grad_clip: must be >= 0 (0 = off)");
  if (warmup_steps < 0) throw Error(sec + ".warmup_steps: must be >= 0");
  if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1)) throw Error(sec + ".min_lr_ratio: must be in [0, 1]");
  if (schedule != "cosine" && schedule != "constant")
    throw Error(sec + ".schedule: expected 'cosine' or 'constant', found '" + schedule + "'");
}

OptimSettings optim_settings(const nlohmann::ordered_json& c, int64_t total_steps) {
  OptimSettings s;
  read_present_keys(c, "trainer", s);
  s.total_steps = std::max<int64_t>(1, total_steps);
  s.validate();
  return s;
}

double lr_at(const OptimSettings& s, int64_t step) {
  if (s.warmup_steps > 0 && step <= s.warmup_steps) return s.lr * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
  if (s.schedule == "constant") return s.lr;
  const double span = static_cast<double>(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - s.warmup_steps) / span);
  return s.lr * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const OptimSettings& s) {
  return std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(s.weight_decay));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat32).norm(2));
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && std::isfinite(total) && total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return total;
}

std::string UpdateGuard::check(double loss, double gnorm) const {
  if (!std::isfinite(loss)) return "loss is not finite";
  if (!std::isfinite(gnorm)) return "grad norm is not finite";
  if (factor_ > 0 && accepted_ >= warmup_ && rejected_in_a_row_ < 3) {
    if (gnorm > factor_ * std::max(mean_gnorm_, 1e-8))
      return "grad norm " + std::to_string(gnorm) + " > " + std::to_string(factor_) + " x running mean " + std::to_string(mean_gnorm_);
  }
  return "";
}

void UpdateGuard::accept(double gnorm) {
  // After a run of spikes the accepted norm is the new scale: the mean restarts from it.
  const bool new_scale = rejected_in_a_row_ >= 3;
  rejected_in_a_row_ = 0;
  // An update with no gradient (every advantage zero) says nothing about the usual scale.
  if (gnorm == 0.0) return;
  const double a = accepted_ == 0 || new_scale ? 1.0 : 0.1;
  mean_gnorm_ += a * (gnorm - mean_gnorm_);
  ++accepted_;
}

nlohmann::json UpdateGuard::state() const {
  return {{"accepted", accepted_}, {"rejected_in_a_row", rejected_in_a_row_}, {"mean_gnorm", mean_gnorm_}};
}

void UpdateGuard::load(const nlohmann::json& s) {
  accepted_ = s.at("accepted").get<int64_t>();
  rejected_in_a_row_ = s.value("rejected_in_a_row", int64_t{0});
  mean_gnorm_ = s.at("mean_gnorm").get<double>();
}

}  // namespace arlt::train
