// The policy's next-token distribution at a sampling temperature: one definition for the
// sampler (engine/sampler.cpp), the trainer's log-probs and entropy (train/batch.cpp) and the
// fused CPU kernel, so that rollout and training log-probs cannot drift apart.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace arlt::model {

// logits / temperature (a division, as the sampler always did: x * (1/T) can differ in the last
// bit); temperature <= 0 (greedy) or 1 leaves the logits as they are.
torch::Tensor temperature_scaled(const torch::Tensor& logits, double temperature);
// log softmax(temperature_scaled(logits, temperature)) over the last dimension.
torch::Tensor temperature_log_softmax(const torch::Tensor& logits, double temperature);
// The same for rows with their own temperatures: logits [n, V], temperatures n values (each
// <= 0 or 1 leaves its row unscaled).
torch::Tensor temperature_log_softmax(const torch::Tensor& logits, const std::vector<double>& temperatures);

// [..., V] -> [...]: H = logsumexp(l) - sum(softmax(l) * l); stable for large logits and -inf
// entries, differentiable. Half-precision logits are computed and returned in float32.
torch::Tensor entropy_from_logits(const torch::Tensor& logits);

struct TokenLogpOptions {
  double temperature = 1.0;   // <= 0: no scaling
  bool entropy = false;       // also the entropy of each distribution
  bool entropy_grad = false;  // the entropy carries gradients (an entropy bonus); else detached
};
// log p(target) under temperature_log_softmax(logits) and, when asked, the entropy of that
// distribution: logits [..., V], target [...] int64 with the leading shape of logits; {logp,
// entropy} shaped like target (entropy undefined unless asked). Without autograd on CPU fp32,
// one fused pass per row (kernels::token_logp_entropy, no [rows, V] temporaries); otherwise
// torch ops, through which gradients flow. A target outside [0, V) throws std::out_of_range
// (the fused path) or torch's error.
std::pair<torch::Tensor, torch::Tensor> token_logp_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                                           const TokenLogpOptions& options);

}  // namespace arlt::model
