#include "arlt/algo/entropy.h"

#include <limits>

#include "arlt/base/error.h"

namespace arlt::algo {

// H = -sum p log p = logsumexp(l) - sum p*l. Two guards keep it finite:
// - the row maximum is subtracted first (H does not change), so both terms stay near 0 instead
//   of cancelling two large numbers;
// - -inf logits (masked vocabulary) have p = 0, but 0 * -inf is nan in the value and in the
//   gradient, so they enter the sum as 0.
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

}  // namespace arlt::algo
