#include "arlt/model/token_logp.h"

#include <limits>
#include <stdexcept>

#include "arlt/base/error.h"
#include "arlt/kernels/elementwise.h"
#include "arlt/kernels/parallel.h"

namespace arlt::model {

namespace {
bool cpu_fp32_without_grad(const torch::Tensor& t) {
  return !at::GradMode::is_enabled() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32;
}
}  // namespace

torch::Tensor entropy_from_logits(const torch::Tensor& logits) {
  if (!logits.defined() || logits.dim() < 1 || logits.size(-1) == 0)
    throw Error("entropy_from_logits: logits must be [..., V] with V > 0");
  torch::Tensor l = logits;
  if (l.scalar_type() == torch::kHalf || l.scalar_type() == torch::kBFloat16) l = l.to(torch::kFloat32);
  l = l - std::get<0>(l.max(-1, /*keepdim=*/true)).detach();
  torch::Tensor p = torch::softmax(l, -1);
  torch::Tensor finite_l = l.masked_fill(l == -std::numeric_limits<double>::infinity(), 0.0);
  return torch::logsumexp(l, -1) - (p * finite_l).sum(-1);
}


torch::Tensor temperature_scaled(const torch::Tensor& logits, double temperature) {
  return temperature > 0 && temperature != 1.0 ? logits / temperature : logits;
}

torch::Tensor temperature_log_softmax(const torch::Tensor& logits, double temperature) {
  return temperature_scaled(logits, temperature).log_softmax(-1);
}

torch::Tensor temperature_log_softmax(const torch::Tensor& logits, const std::vector<double>& temperatures) {
  if (logits.dim() != 2 || logits.size(0) != static_cast<int64_t>(temperatures.size()))
    throw std::invalid_argument("temperature_log_softmax: logits [n, V] and n temperatures expected");
  std::vector<float> t;
  bool all_one = true;
  for (double x : temperatures) {
    t.push_back(x > 0 ? static_cast<float>(x) : 1.f);
    all_one &= t.back() == 1.f;
  }
  if (all_one) return logits.log_softmax(-1);
  // The division temperature_scaled does, row by row (a float tensor of divisors gives the same
  // quotients as dividing each row by its temperature).
  return (logits / torch::tensor(t).to(logits.device()).unsqueeze(1)).log_softmax(-1);
}

namespace {
// The torch-op form of token_logp_entropy: log p = logit[target] - logsumexp(logits) (no
// [..., V] log-softmax copy); the entropy detached unless asked.
std::pair<torch::Tensor, torch::Tensor> token_logp_entropy_torch(const torch::Tensor& logits_in, const torch::Tensor& target,
                                                                 const TokenLogpOptions& o) {
  const torch::Tensor logits = temperature_scaled(logits_in, o.temperature);
  torch::Tensor logp = logits.gather(-1, target.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);
  torch::Tensor ent;
  if (o.entropy) {
    if (o.entropy_grad) {
      ent = entropy_from_logits(logits);
    } else {
      torch::NoGradGuard ng;
      ent = entropy_from_logits(logits.detach());
    }
  }
  return {logp, ent};
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> token_logp_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                                           const TokenLogpOptions& o) {
  if (logits.dim() < 1 || logits.size(-1) == 0 || target.sizes() != logits.sizes().slice(0, logits.dim() - 1))
    throw std::invalid_argument("token_logp_entropy: logits [..., V > 0] and target [...] with its leading shape expected");
  if (o.entropy_grad || !cpu_fp32_without_grad(logits) || !target.device().is_cpu() || target.scalar_type() != torch::kInt64)
    return token_logp_entropy_torch(logits, target, o);
  const int64_t V = logits.size(-1), R = target.numel();
  const torch::Tensor x = logits.contiguous(), t = target.contiguous();
  torch::Tensor logp = torch::empty(target.sizes(), logits.options());
  torch::Tensor ent = o.entropy ? torch::empty(target.sizes(), logits.options()) : torch::Tensor();
  const float inv_t = o.temperature > 0 ? static_cast<float>(1.0 / o.temperature) : 1.f;
  const float* xp = x.data_ptr<float>();
  const int64_t* tp = t.data_ptr<int64_t>();
  float* lp = logp.data_ptr<float>();
  float* ep = o.entropy ? ent.data_ptr<float>() : nullptr;
  kernels::parallel_for(0, R, 4, [&](int64_t b, int64_t e) { kernels::token_logp_entropy(xp, V, inv_t, tp, lp, ep, b, e); });
  return {logp, ent};
}

}  // namespace arlt::model
