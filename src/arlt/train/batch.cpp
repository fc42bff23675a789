#include "arlt/train/batch.h"

#include "arlt/algo/entropy.h"
#include "arlt/base/error.h"

namespace arlt::train {

TokenBatch make_token_batch(const std::vector<std::vector<int64_t>>& prompts,
                            const std::vector<std::vector<int64_t>>& responses, int64_t pad_id) {
  if (prompts.size() != responses.size()) throw Error("make_token_batch: prompts and responses differ in number");
  const int64_t R = static_cast<int64_t>(prompts.size());
  int64_t S = 2;
  for (int64_t r = 0; r < R; ++r) S = std::max<int64_t>(S, prompts[r].size() + responses[r].size());
  TokenBatch b;
  std::vector<int64_t> ids(R * S, pad_id), att(R * S, 0);
  std::vector<float> mask(R * (S - 1), 0.f);
  for (int64_t r = 0; r < R; ++r) {
    const auto& p = prompts[r];
    const auto& q = responses[r];
    if (p.empty()) throw Error("make_token_batch: row " + std::to_string(r) + " has an empty prompt");
    int64_t t = 0;
    for (int64_t x : p) ids[r * S + t] = x, att[r * S + t] = 1, ++t;
    for (int64_t x : q) {
      ids[r * S + t] = x, att[r * S + t] = 1;
      mask[r * (S - 1) + t - 1] = 1.f;
      ++t;
    }
    b.prompt_len.push_back(static_cast<int64_t>(p.size()));
    b.response_len.push_back(static_cast<int64_t>(q.size()));
  }
  b.ids = torch::tensor(ids, torch::kInt64).view({R, S});
  b.attention = torch::tensor(att, torch::kInt64).view({R, S});
  b.mask = torch::tensor(mask, torch::kFloat32).view({R, S - 1});
  return b;
}

TokenBatch TokenBatch::select(const std::vector<int64_t>& rows_) const {
  auto idx = torch::tensor(rows_, torch::kInt64);
  TokenBatch b;
  int64_t S = 2;
  for (int64_t r : rows_) S = std::max(S, prompt_len[r] + response_len[r]);
  b.ids = ids.index_select(0, idx).narrow(1, 0, S).contiguous();
  b.attention = attention.index_select(0, idx).narrow(1, 0, S).contiguous();
  b.mask = mask.index_select(0, idx).narrow(1, 0, S - 1).contiguous();
  for (int64_t r : rows_) b.prompt_len.push_back(prompt_len[r]), b.response_len.push_back(response_len[r]);
  return b;
}

TokenBatch TokenBatch::slice(int64_t begin, int64_t count) const {
  std::vector<int64_t> rows_;
  for (int64_t r = begin; r < begin + count; ++r) rows_.push_back(r);
  return select(rows_);
}

TokenScores score_tokens(model::Transformer& model, const TokenBatch& batch, double temperature, bool with_entropy,
                         bool with_values, bool entropy_grad) {
  model::ForwardArgs a;
  a.input_ids = batch.ids;
  a.attention_mask = batch.attention;
  torch::Tensor hidden = model.forward_hidden(a);
  const int64_t S = batch.ids.size(1);
  // The LM head (for a 32k vocabulary the largest matmul) runs only from the first position
  // that predicts a response token; the columns before it are zeros (mask 0 there).
  int64_t start = S - 1;
  for (int64_t p : batch.prompt_len) start = std::min(start, std::max<int64_t>(0, p - 1));
  const int64_t W = S - 1 - start;
  torch::Tensor h = hidden.narrow(1, start, W);
  torch::Tensor logits = model.lm_logits(h).to(torch::kFloat32);
  if (temperature > 0 && temperature != 1.0) logits = logits / temperature;
  torch::Tensor target = batch.ids.narrow(1, start + 1, W).to(logits.device()).unsqueeze(-1);
  // log p = logit[target] - logsumexp(logits): no [R,S,V] log-softmax copy.
  auto pad_front = [&](const torch::Tensor& t) {
    return start == 0 ? t : torch::cat({torch::zeros({t.size(0), start}, t.options()), t}, 1);
  };
  TokenScores out;
  out.logp = pad_front(logits.gather(-1, target).squeeze(-1) - logits.logsumexp(-1));
  if (with_entropy) {
    if (entropy_grad) {
      out.entropy = pad_front(algo::entropy_from_logits(logits));
    } else {
      torch::NoGradGuard ng;
      out.entropy = pad_front(algo::entropy_from_logits(logits.detach()));
    }
  }
  if (with_values) {
    if (!model.has_scalar_head()) throw Error("score_tokens: values asked of a model without a scalar head");
    out.values = pad_front(model.score_all(h).to(torch::kFloat32));
  }
  return out;
}

}  // namespace arlt::train
