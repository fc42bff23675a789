#include "arlt/train/optim.h"

#include <cmath>

#include "arlt/base/error.h"

namespace arlt::train {

OptimSettings optim_settings(const nlohmann::ordered_json& c, int64_t total_steps) {
  OptimSettings s;
  auto num = [&](const char* key, double& out) {
    if (c.contains(key)) out = c.at(key).get<double>();
  };
  num("lr", s.lr);
  num("weight_decay", s.weight_decay);
  num("eps", s.eps);
  num("grad_clip", s.grad_clip);
  num("min_lr_ratio", s.min_lr_ratio);
  if (c.contains("betas")) {
    const auto& b = c.at("betas");
    if (!b.is_array() || b.size() != 2) throw Error("trainer.betas: expected a list of two numbers, e.g. [0.9, 0.999]");
    s.beta1 = b[0].get<double>();
    s.beta2 = b[1].get<double>();
  }
  if (c.contains("warmup_steps")) s.warmup_steps = c.at("warmup_steps").get<int64_t>();
  if (c.contains("schedule")) s.schedule = c.at("schedule").get<std::string>();
  s.total_steps = std::max<int64_t>(1, total_steps);
  if (!(s.lr > 0) || !std::isfinite(s.lr)) throw Error("trainer.lr: must be a positive number, found " + std::to_string(s.lr));
  if (s.weight_decay < 0) throw Error("trainer.weight_decay: must be >= 0");
  if (!(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1)) throw Error("trainer.betas: each must be in [0, 1)");
  if (!(s.eps > 0)) throw Error("trainer.eps: must be > 0");
  if (s.grad_clip < 0) throw Error("trainer.grad_clip: must be >= 0 (0 = off)");
  if (s.warmup_steps < 0) throw Error("trainer.warmup_steps: must be >= 0");
  if (s.min_lr_ratio < 0 || s.min_lr_ratio > 1) throw Error("trainer.min_lr_ratio: must be in [0, 1]");
  if (s.schedule != "cosine" && s.schedule != "constant")
    throw Error("trainer.schedule: expected 'cosine' or 'constant', found '" + s.schedule + "'");
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
