// Entropy of the policy's next-token distributions (the entropy bonus and its metric).
#pragma once
#include <torch/torch.h>

namespace arlt::algo {

// [...,V] -> [...]: H = logsumexp(l) - sum(softmax(l)*l); stable for large logits and -inf
// entries, differentiable. Half-precision logits are computed and returned in float32.
torch::Tensor entropy_from_logits(const torch::Tensor& logits);

}  // namespace arlt::algo
