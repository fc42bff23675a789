#include "arlt/algo/kl.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "arlt/algo/util.h"
#include "arlt/base/error.h"
#include "arlt/base/registry.h"

namespace arlt::algo {

namespace {

// k1: E_policy[logp - ref] = KL, unbiased, but single samples are often negative.
torch::Tensor k1(const torch::Tensor& logp, const torch::Tensor& ref) { return logp - ref; }
torch::Tensor kl_abs(const torch::Tensor& logp, const torch::Tensor& ref) { return (logp - ref).abs(); }
// k2: 0.5*(logp - ref)^2, biased but low variance; its gradient is that of the reverse KL.
torch::Tensor k2(const torch::Tensor& logp, const torch::Tensor& ref) { return 0.5 * (logp - ref).square(); }
// k3: with x = ref - logp, e^x - x - 1 >= 0 and unbiased (Schulman's approximator); x is clamped
// to [-20, 20] before exp and the result to [-10, 10] as verl does, so one outlier token cannot
// blow up the reward.
torch::Tensor k3(const torch::Tensor& logp, const torch::Tensor& ref) {
  torch::Tensor x = torch::clamp(ref - logp, -20.0, 20.0);
  return torch::clamp(torch::exp(x) - x - 1, -10.0, 10.0);
}

Registry<KLEstimatorFn>& registry() {
  static Registry<KLEstimatorFn> r("KL estimator", {{"abs", kl_abs},
                                                    {"k1", k1},
                                                    {"k2", k2},
                                                    {"k3", k3},
                                                    {"kl", k1},
                                                    {"low_var_kl", k3},
                                                    {"mse", k2}});
  return r;
}

}  // namespace

torch::Tensor kl_penalty(const torch::Tensor& logp, const torch::Tensor& ref_logp, const std::string& estimator) {
  const KLEstimatorFn f = registry().get(estimator);
  if (!logp.defined() || !ref_logp.defined() || logp.sizes() != ref_logp.sizes())
    throw Error("kl_penalty: ref_logp has shape " + detail::shape_str(ref_logp) + ", expected the shape of logp " +
                detail::shape_str(logp));
  return f(logp, ref_logp.to(logp.scalar_type()));
}

std::vector<std::string> kl_estimators() { return registry().names(); }

void register_kl_estimator(const std::string& name, KLEstimatorFn estimator) {
  if (!estimator) throw Error("register KL estimator: \"" + name + "\" has an empty function");
  registry().add(name, std::move(estimator));
}

KLController KLController::fixed(double coef) {
  if (!(coef >= 0) || !std::isfinite(coef)) throw Error("KL coefficient must be >= 0, got " + std::to_string(coef));
  return KLController(coef, false, 0, 0);
}

KLController KLController::adaptive(double init_coef, double target_kl, double horizon) {
  if (!(init_coef >= 0) || !std::isfinite(init_coef))
    throw Error("adaptive KL: init_coef must be >= 0, got " + std::to_string(init_coef));
  if (!(target_kl > 0) || !std::isfinite(target_kl))
    throw Error("adaptive KL: target_kl must be > 0, got " + std::to_string(target_kl));
  if (!(horizon > 0) || !std::isfinite(horizon)) throw Error("adaptive KL: horizon must be > 0, got " + std::to_string(horizon));
  return KLController(init_coef, true, target_kl, horizon);
}

void KLController::update(double current_kl, int64_t n_steps) {
  if (!adaptive_) return;
  if (!std::isfinite(current_kl)) throw runtime_failure("adaptive KL: the measured KL is not finite (" + std::to_string(current_kl) + ")");
  if (n_steps < 0) throw Error("adaptive KL: n_steps must be >= 0, got " + std::to_string(n_steps));
  // The error is clipped so that one noisy batch moves beta by at most 20% per horizon.
  const double err = std::clamp(current_kl / target_ - 1.0, -0.2, 0.2);
  coef_ *= 1.0 + err * static_cast<double>(n_steps) / horizon_;
}

}  // namespace arlt::algo
