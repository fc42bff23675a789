// KL(policy || reference) per token, and the controller of its coefficient beta.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace arlt::algo {

// Per-token KL(policy || ref) estimate [B,T] (no masking): "k1" (alias "kl") logp-ref; "abs"
// |logp-ref|; "k2" (alias "mse") 0.5*(logp-ref)^2; "k3" (alias "low_var_kl")
// exp(ref-logp)-(ref-logp)-1 clamped to [-10,10] (verl). Throws arlt::Error for an unknown name
// or differing shapes.
torch::Tensor kl_penalty(const torch::Tensor& logp, const torch::Tensor& ref_logp, const std::string& estimator);
std::vector<std::string> kl_estimators();
// Adds (or replaces) an estimator f(logp, ref_logp) -> [B,T], from any file; thread-safe.
using KLEstimatorFn = std::function<torch::Tensor(const torch::Tensor& logp, const torch::Tensor& ref_logp)>;
void register_kl_estimator(const std::string& name, KLEstimatorFn estimator);

// The coefficient beta of the KL term (in the reward or in the loss). Copyable value type.
class KLController {
 public:
  static KLController fixed(double coef);
  // Ziegler et al. 2019: err = clip(kl/target - 1, -0.2, 0.2); beta *= 1 + err * n_steps / horizon.
  static KLController adaptive(double init_coef, double target_kl, double horizon);

  double value() const { return coef_; }
  // No-op for a fixed controller. current_kl must be finite; n_steps >= 0 (samples since the last update).
  void update(double current_kl, int64_t n_steps);
  bool is_adaptive() const { return adaptive_; }

 private:
  KLController(double coef, bool adaptive, double target, double horizon)
      : coef_(coef), adaptive_(adaptive), target_(target), horizon_(horizon) {}
  double coef_;
  bool adaptive_;
  double target_, horizon_;
};

}  // namespace arlt::algo
