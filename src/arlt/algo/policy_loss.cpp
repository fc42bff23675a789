#include "arlt/algo/policy_loss.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "arlt/algo/util.h"
#include "arlt/base/error.h"
#include "arlt/base/registry.h"

namespace arlt::algo {

namespace {

// Padding may hold anything (-inf log-probs, nan): where() keeps it out of sums and gradients.
torch::Tensor zero_padding(const torch::Tensor& x, const torch::Tensor& m) {
  return torch::where(m != 0, x * m, torch::zeros_like(x));
}

double stat(const torch::Tensor& x, const torch::Tensor& mask) {
  return masked_mean(x.detach().to(torch::kDouble), mask.to(torch::kDouble)).item<double>();
}

void expect_like(const torch::Tensor& t, const std::string& what, const torch::Tensor& ref) {
  if (!ref.defined() || ref.dim() != 2) throw Error(what + ": expected [B, T] tensors, got " + detail::shape_str(ref));
  detail::expect_shape(t, what, {ref.size(0), ref.size(1)});
}

// ppo: r_t = exp(clamp(logp_t - old_t)), each token its own importance ratio.
torch::Tensor ppo_ratio(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor&, double clamp) {
  return torch::exp(torch::clamp(logp - old_logp, -clamp, clamp));
}

// gspo: one ratio per sequence, s_i = exp(mean_t (logp - old)) (the length-normalised sequence
// likelihood ratio); each token carries s_i's value with the gradient of its own logp, so
// d r_t / d logp_t = r_t (GSPO's token form, arXiv 2507.18071).
torch::Tensor gspo_ratio(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& m, double clamp) {
  torch::Tensor n = m.sum(1, /*keepdim=*/true);
  torch::Tensor seq = zero_padding(logp - old_logp, m).sum(1, true) / torch::where(n != 0, n, torch::ones_like(n));
  return torch::exp(torch::clamp(seq.detach() + logp - logp.detach(), -clamp, clamp));
}

Registry<PolicyRatioFn>& registry() {
  static Registry<PolicyRatioFn> r("policy loss", {{"gspo", gspo_ratio}, {"ppo", ppo_ratio}});
  return r;
}

const std::vector<std::string>& modes() {
  static const std::vector<std::string> m = {"token-mean", "seq-mean-token-sum", "seq-mean-token-mean",
                                             "seq-mean-token-sum-norm"};
  return m;
}

void validate(const PolicyLossOptions& o) {
  auto bad = [](const std::string& field, double v, const std::string& want) {
    return Error("policy loss option " + field + " must be " + want + ", got " + std::to_string(v));
  };
  if (!(o.clip_low >= 0 && o.clip_low <= 1)) throw bad("clip_low", o.clip_low, "in [0, 1]");
  if (!(o.clip_high >= 0) || !std::isfinite(o.clip_high)) throw bad("clip_high", o.clip_high, ">= 0");
  if (!(o.dual_clip == 0 || o.dual_clip > 1)) throw bad("dual_clip", o.dual_clip, "> 1 (or 0 = off)");
  if (!(o.log_ratio_clamp > 0)) throw bad("log_ratio_clamp", o.log_ratio_clamp, "> 0");
}

}  // namespace

// pg1 = -A*r, pg2 = -A*clip(r, 1-clip_low, 1+clip_high), clip1 = max(pg1, pg2) (the pessimistic
// bound); dual-clip bounds the loss of A < 0 tokens by -A*c, because a huge ratio times a negative
// advantage would otherwise dominate the batch: loss_t = A<0 ? min(clip1, -A*c) : clip1.
PolicyLossOutput policy_loss(const std::string& name, const torch::Tensor& logp, const torch::Tensor& old_logp,
                             const torch::Tensor& advantages, const torch::Tensor& mask, const PolicyLossOptions& opt) {
  const PolicyRatioFn ratio_of = registry().get(name);
  validate(opt);
  expect_like(logp, "policy loss: logp", logp);
  expect_like(old_logp, "policy loss: old_logp", logp);
  expect_like(advantages, "policy loss: advantages", logp);
  expect_like(mask, "policy loss: mask", logp);
  const torch::Tensor old = old_logp.detach().to(logp.scalar_type());
  const torch::Tensor A = advantages.detach().to(logp.scalar_type());
  const torch::Tensor m = mask.detach().to(logp.scalar_type());

  torch::Tensor ratio = ratio_of(logp, old, m, opt.log_ratio_clamp);
  torch::Tensor pg1 = -A * ratio;
  torch::Tensor pg2 = -A * torch::clamp(ratio, 1.0 - opt.clip_low, 1.0 + opt.clip_high);
  torch::Tensor clip1 = torch::maximum(pg1, pg2);
  torch::Tensor per_token = clip1;
  PolicyLossOutput out;
  if (opt.dual_clip > 0) {
    torch::Tensor pg3 = -A * opt.dual_clip;
    per_token = torch::where(A < 0, torch::minimum(pg3, clip1), clip1);
    out.dual_clip_fraction = stat((clip1 > pg3).logical_and(A < 0), m);
  }
  out.loss = aggregate_loss(per_token, m, opt.aggregation);
  out.clip_fraction = stat(pg2 > pg1, m);
  out.approx_kl = stat(old - logp, m);
  return out;
}

std::vector<std::string> policy_losses() { return registry().names(); }

void register_policy_loss(const std::string& name, PolicyRatioFn ratio) {
  if (!ratio) throw Error("register policy loss: \"" + name + "\" has an empty function");
  registry().add(name, std::move(ratio));
}

// token-mean:              sum_{i,t} m*l / N            N = norm_tokens or sum(m)
// seq-mean-token-sum:      sum_i (sum_t m*l) / S        S = norm_seqs or B
// seq-mean-token-mean:     sum_i (sum_t m*l / sum_t m) / S   (an empty row adds 0)
// seq-mean-token-sum-norm: sum_{i,t} m*l / (S * L)      L = max_len or T (Dr.GRPO: a constant
//                          length, so long and short answers weigh each token the same)
torch::Tensor aggregate_loss(const torch::Tensor& loss_mat, const torch::Tensor& mask, const Aggregation& agg) {
  const std::string& mode = agg.mode;
  const double norm_tokens = agg.norm_tokens, norm_seqs = agg.norm_seqs, max_len = agg.max_len;
  const auto& valid = modes();
  if (std::find(valid.begin(), valid.end(), mode) == valid.end()) detail::throw_unknown("loss aggregation mode", mode, valid);
  expect_like(loss_mat, "aggregate_loss: loss_mat", loss_mat);
  expect_like(mask, "aggregate_loss: mask", loss_mat);
  if (!(norm_tokens >= 0) || !(norm_seqs >= 0) || !(max_len >= 0))
    throw Error("aggregate_loss: norm_tokens, norm_seqs and max_len must be >= 0 (0 = from the batch)");
  const torch::Tensor m = mask.detach().to(loss_mat.scalar_type());
  const torch::Tensor x = zero_padding(loss_mat, m);
  const double S = norm_seqs > 0 ? norm_seqs : static_cast<double>(std::max<int64_t>(loss_mat.size(0), 1));
  if (mode == "token-mean") {
    if (norm_tokens > 0) return x.sum() / norm_tokens;
    return masked_mean(loss_mat, m);
  }
  if (mode == "seq-mean-token-sum") return x.sum() / S;
  if (mode == "seq-mean-token-mean") {
    torch::Tensor n = m.sum(1);
    return (x.sum(1) / torch::where(n != 0, n, torch::ones_like(n))).sum() / S;
  }
  const double L = max_len > 0 ? max_len : static_cast<double>(std::max<int64_t>(loss_mat.size(1), 1));
  return x.sum() / (S * L);
}

std::vector<std::string> aggregation_modes() { return modes(); }

// Clipping the new value to old ± clip_range, and taking the larger loss, keeps the critic from
// moving far from the values the advantages were computed with.
ValueLossOutput value_loss(const torch::Tensor& values, const torch::Tensor& old_values, const torch::Tensor& returns,
                           const torch::Tensor& mask, double clip_range, const Aggregation& aggregation) {
  if (!(clip_range >= 0)) throw Error("value loss: clip_range must be >= 0 (infinity = off), got " + std::to_string(clip_range));
  expect_like(values, "value loss: values", values);
  expect_like(old_values, "value loss: old_values", values);
  expect_like(returns, "value loss: returns", values);
  expect_like(mask, "value loss: mask", values);
  const torch::Tensor old = old_values.detach().to(values.scalar_type());
  const torch::Tensor R = returns.detach().to(values.scalar_type());
  const torch::Tensor m = mask.detach().to(values.scalar_type());
  // min/max rather than old + clamp(v - old): v inside the range stays bit-identical.
  torch::Tensor clipped = torch::max(torch::min(values, old + clip_range), old - clip_range);
  torch::Tensor l1 = (values - R).square();
  torch::Tensor l2 = (clipped - R).square();
  ValueLossOutput out;
  Aggregation agg = aggregation;
  agg.max_len = 0;
  out.loss = 0.5 * aggregate_loss(torch::maximum(l1, l2), m, agg);
  out.clip_fraction = stat(l2 > l1, m);
  return out;
}

}  // namespace arlt::algo
