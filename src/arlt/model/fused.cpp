#include "arlt/model/fused.h"

#include "arlt/kernels/elementwise.h"
#include "arlt/kernels/parallel.h"

namespace arlt::model {

namespace {
bool fusable(std::initializer_list<const torch::Tensor*> ts) {
  if (at::GradMode::is_enabled()) return false;
  for (const torch::Tensor* t : ts)
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32) return false;
  return true;
}
}  // namespace

torch::Tensor rms_norm_fp32(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  const int64_t D = x.size(-1);
  if (!fusable({&x, &weight}) || weight.numel() != D) return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * weight;
  const torch::Tensor xc = x.contiguous(), wc = weight.contiguous();
  torch::Tensor out = torch::empty_like(xc);
  const float* xp = xc.data_ptr<float>();
  const float* wp = wc.data_ptr<float>();
  float* op = out.data_ptr<float>();
  kernels::parallel_for(0, D > 0 ? xc.numel() / D : 0, 16, [&](int64_t b, int64_t e) {
    kernels::rms_norm(xp, wp, static_cast<float>(eps), D, op, b, e);
  });
  return out;
}

torch::Tensor silu_mul(const torch::Tensor& gate, const torch::Tensor& up) {
  if (!fusable({&gate, &up}) || gate.sizes() != up.sizes()) return torch::silu(gate) * up;
  const torch::Tensor g = gate.contiguous(), u = up.contiguous();
  torch::Tensor out = torch::empty_like(g);
  const float* gp = g.data_ptr<float>();
  const float* upp = u.data_ptr<float>();
  float* op = out.data_ptr<float>();
  kernels::parallel_for(0, g.numel(), 4096, [&](int64_t b, int64_t e) { kernels::silu_mul(gp, upp, op, b, e); });
  return out;
}

torch::Tensor rope_heads_first(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  if (!fusable({&x, &cos, &sin}) || x.dim() != 4 || cos.dim() != 4 || cos.sizes() != sin.sizes()) return {};
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  if (D % 2 != 0 || cos.size(1) != 1 || cos.size(2) != T || cos.size(3) != D || (cos.size(0) != B && cos.size(0) != 1)) return {};
  const torch::Tensor xc = x.contiguous(), c = cos.contiguous(), s = sin.contiguous();
  torch::Tensor out = torch::empty_like(xc);
  const float* xp = xc.data_ptr<float>();
  const float* cp = c.data_ptr<float>();
  const float* sp = s.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const bool batched = cos.size(0) == B && B > 1;
  kernels::parallel_for(0, B * T, 8, [&](int64_t b, int64_t e) { kernels::rope(xp, cp, sp, B, T, H, D, batched, op, b, e); });
  return out.transpose(1, 2);
}

std::pair<torch::Tensor, torch::Tensor> token_logp_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                                           double temperature, bool entropy) {
  if (!fusable({&logits}) || !target.device().is_cpu() || target.scalar_type() != torch::kInt64 || logits.dim() < 1 ||
      logits.size(-1) == 0 || target.sizes() != logits.sizes().slice(0, logits.dim() - 1))
    return {};
  const int64_t V = logits.size(-1), R = target.numel();
  const torch::Tensor x = logits.contiguous(), t = target.contiguous();
  torch::Tensor logp = torch::empty(target.sizes(), logits.options());
  torch::Tensor ent = entropy ? torch::empty(target.sizes(), logits.options()) : torch::Tensor();
  const float inv_t = temperature > 0 ? static_cast<float>(1.0 / temperature) : 1.f;
  const float* xp = x.data_ptr<float>();
  const int64_t* tp = t.data_ptr<int64_t>();
  float* lp = logp.data_ptr<float>();
  float* ep = entropy ? ent.data_ptr<float>() : nullptr;
  kernels::parallel_for(0, R, 4, [&](int64_t b, int64_t e) { kernels::token_logp_entropy(xp, V, inv_t, tp, lp, ep, b, e); });
  return {logp, ent};
}

}  // namespace arlt::model
