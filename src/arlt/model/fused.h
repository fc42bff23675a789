// Fused CPU versions of the model's row-wise operations for inference (no autograd, fp32, CPU):
// one pass over memory each (kernels/elementwise.h). Anything else, torch ops.
#pragma once
#include <torch/torch.h>

namespace arlt::model {

// x * rsqrt(mean(x^2, -1) + eps) * weight, x [..., D] fp32.
torch::Tensor rms_norm_fp32(const torch::Tensor& x, const torch::Tensor& weight, double eps);
// silu(gate) * up.
torch::Tensor silu_mul(const torch::Tensor& gate, const torch::Tensor& up);

// Rotary embedding of x [B, T, H, D] with cos, sin [Bc, 1, T, D] (Bc = B or 1), returned as
// [B, H, T, D] (a transposed view); undefined where it does not apply (autograd on, not CPU fp32,
// other shapes): the caller then runs torch ops.
torch::Tensor rope_heads_first(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// log softmax(logits / temperature) at `target` (temperature <= 0: no scaling, as score_tokens
// always did) and, when `entropy` is asked, the entropy of that distribution: logits [..., V],
// target [...] int64 with the leading shape of logits; {logp, entropy} shaped like target
// (entropy undefined unless asked). Returns {} (both undefined) where it does not apply (autograd
// on, not CPU fp32 logits and CPU int64 target, V = 0, other shapes): the caller runs torch ops.
std::pair<torch::Tensor, torch::Tensor> token_logp_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                                           double temperature, bool entropy);

}  // namespace arlt::model
