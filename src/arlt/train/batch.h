// Token batches for the trainers: prompt + response rows, right-padded, with the loss mask on
// the response tokens, and the per-token log-probabilities the losses need.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "arlt/model/transformer.h"

namespace arlt::train {

// R rows of prompt + response tokens, right-padded to the longest row.
//   ids [R,S], attention [R,S] (1 = real), mask [R,S-1]: 1 where position t predicts a response
//   token (t+1 is a response token), so logits[:, :-1] line up with mask.
struct TokenBatch {
  torch::Tensor ids, attention, mask;
  std::vector<int64_t> prompt_len, response_len;
  std::vector<int64_t> trained_len;  // response tokens with mask 1 (a tool's observation tokens are not)
  int64_t rows() const { return ids.size(0); }
  // Rows [begin, begin+count), trimmed to the longest of them.
  TokenBatch slice(int64_t begin, int64_t count) const;
  TokenBatch select(const std::vector<int64_t>& rows) const;
};

// response_masks (one per row, the length of its response; empty: every response token) marks
// the tokens the policy generated: an agent's observation tokens get 0 and never reach a loss.
TokenBatch make_token_batch(const std::vector<std::vector<int64_t>>& prompts,
                            const std::vector<std::vector<int64_t>>& responses, int64_t pad_id = 0,
                            const std::vector<std::vector<uint8_t>>& response_masks = {});

// Log-probabilities of the next tokens under `model`, scaled by 1/temperature as the sampler
// does: [R,S-1], entry t = log p(ids[t+1] | ids[..t]). Optionally the entropy of each of those
// distributions [R,S-1] and, for a model with a scalar head, the value per position [R,S-1].
struct TokenScores {
  torch::Tensor logp, entropy, values;
};
struct ScoreOptions {
  double temperature = 1.0;     // the sampling temperature (<= 0: none)
  bool entropy = false;         // also TokenScores::entropy
  bool values = false;          // also TokenScores::values (a model with a scalar head)
  bool entropy_grad = false;    // the entropy carries gradients (an entropy bonus); as a metric it is detached
  // Consecutive rows with the same prompt (GRPO's n samples) run as one packed row, the prompt
  // once and then each response, which attends to the prompt and to itself only, with the
  // positions it has in its own row. The same function of the same tokens (equal up to float
  // rounding, test), with less work: the prompt's forward and backward once per group. A batch
  // whose packed attention would exceed twice the unpacked one (and 64 MB) runs unpacked.
  bool share_prompts = false;
};
TokenScores score_tokens(model::Transformer& model, const TokenBatch& batch, const ScoreOptions& options);

}  // namespace arlt::train
