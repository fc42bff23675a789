#include "arlt/train/batch.h"

#include <algorithm>

#include "arlt/model/token_logp.h"
#include "arlt/base/error.h"

namespace arlt::train {

TokenBatch make_token_batch(const std::vector<std::vector<int64_t>>& prompts,
                            const std::vector<std::vector<int64_t>>& responses, int64_t pad_id,
                            const std::vector<std::vector<uint8_t>>& response_masks) {
  if (prompts.size() != responses.size()) throw Error("make_token_batch: prompts and responses differ in number");
  if (!response_masks.empty() && response_masks.size() != responses.size())
    throw Error("make_token_batch: response_masks and responses differ in number");
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
    const std::vector<uint8_t>* rm = response_masks.empty() ? nullptr : &response_masks[r];
    if (rm && rm->size() != q.size())
      throw Error("make_token_batch: row " + std::to_string(r) + " has " + std::to_string(rm->size()) + " mask entries for " +
                  std::to_string(q.size()) + " response tokens");
    int64_t t = 0, trained = 0;
    for (int64_t x : p) ids[r * S + t] = x, att[r * S + t] = 1, ++t;
    for (size_t k = 0; k < q.size(); ++k) {
      ids[r * S + t] = q[k], att[r * S + t] = 1;
      const bool on = !rm || (*rm)[k];
      mask[r * (S - 1) + t - 1] = on ? 1.f : 0.f;
      trained += on;
      ++t;
    }
    b.prompt_len.push_back(static_cast<int64_t>(p.size()));
    b.response_len.push_back(static_cast<int64_t>(q.size()));
    b.trained_len.push_back(trained);
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
  for (int64_t r : rows_)
    b.prompt_len.push_back(prompt_len[r]), b.response_len.push_back(response_len[r]), b.trained_len.push_back(trained_len[r]);
  return b;
}

TokenBatch TokenBatch::slice(int64_t begin, int64_t count) const {
  std::vector<int64_t> rows_;
  for (int64_t r = begin; r < begin + count; ++r) rows_.push_back(r);
  return select(rows_);
}

namespace {

// The hidden states [R,W,H] at positions start..start+W-1 of every row, computed with the rows
// that share a prompt packed (see share_prompts); undefined when no two rows share one or the
// packing would cost too much attention.
torch::Tensor packed_hidden(model::Transformer& model, const TokenBatch& batch, int64_t start, int64_t W) {
  const int64_t R = batch.rows(), S = batch.ids.size(1);
  torch::Tensor ids_t = batch.ids.to(torch::kCPU).contiguous();
  const int64_t* ids = ids_t.data_ptr<int64_t>();
  std::vector<std::pair<int64_t, int64_t>> groups;  // [begin, end) of rows with one prompt
  for (int64_t r = 0; r < R; ++r) {
    const int64_t P = batch.prompt_len[r];
    const bool same = r > 0 && batch.prompt_len[r - 1] == P && std::equal(ids + r * S, ids + r * S + P, ids + (r - 1) * S);
    if (same) ++groups.back().second;
    else groups.emplace_back(r, r + 1);
  }
  if (static_cast<int64_t>(groups.size()) == R) return {};
  const int64_t G = static_cast<int64_t>(groups.size());
  std::vector<int64_t> len(G);
  int64_t T = 0;
  for (int64_t g = 0; g < G; ++g) {
    len[g] = batch.prompt_len[groups[g].first];
    for (int64_t r = groups[g].first; r < groups[g].second; ++r) len[g] += batch.response_len[r];
    T = std::max(T, len[g]);
  }
  // Packed attention is [G,T,T] against [R,S,S] unpacked: pack when that is at most twice the
  // area, or small anyway (scores of 8 heads under 64 MB).
  const double packed_area = static_cast<double>(G) * T * T, unpacked_area = static_cast<double>(R) * S * S;
  if (packed_area > 2 * unpacked_area && packed_area * 8 * 4 > 64.0 * 1024 * 1024) return {};
  std::vector<int64_t> pids(G * T, 0), pos(G * T, 0), gather(R * W, 0);
  torch::Tensor allowed = torch::zeros({G, T, T}, torch::kBool);
  auto al = allowed.accessor<bool, 3>();
  for (int64_t g = 0; g < G; ++g) {
    const int64_t r0 = groups[g].first, P = batch.prompt_len[r0];
    for (int64_t t = 0; t < P; ++t) {
      pids[g * T + t] = ids[r0 * S + t];
      pos[g * T + t] = t;
      for (int64_t s = 0; s <= t; ++s) al[g][t][s] = true;
    }
    int64_t off = P;
    for (int64_t r = r0; r < groups[g].second; ++r) {
      const int64_t L = batch.response_len[r];
      for (int64_t i = 0; i < L; ++i) {
        const int64_t t = off + i;
        pids[g * T + t] = ids[r * S + P + i];
        pos[g * T + t] = P + i;
        for (int64_t s = 0; s < P; ++s) al[g][t][s] = true;
        for (int64_t s = off; s <= t; ++s) al[g][t][s] = true;
      }
      // Row r's position start + w predicts response token i = start + w + 1 - P, from the
      // prompt's last token (i = 0) or from response token i - 1.
      for (int64_t w = 0; w < W; ++w) {
        const int64_t i = start + w + 1 - P;
        if (i >= 0 && i < L) gather[r * W + w] = g * T + (i == 0 ? P - 1 : off + i - 1);
      }
      off += L;
    }
    for (int64_t t = len[g]; t < T; ++t) al[g][t][t] = true;  // padding attends to itself
  }
  model::ForwardArgs a;
  a.input_ids = torch::tensor(pids, torch::kInt64).view({G, T});
  a.position_ids = torch::tensor(pos, torch::kInt64).view({G, T});
  a.attention_allowed = allowed;
  torch::Tensor hidden = model.forward_hidden(a);  // [G,T,H]
  torch::Tensor idx = torch::tensor(gather, torch::kInt64).to(hidden.device());
  return hidden.reshape({G * T, hidden.size(2)}).index_select(0, idx).view({R, W, hidden.size(2)});
}

}  // namespace

TokenScores score_tokens(model::Transformer& model, const TokenBatch& batch, const ScoreOptions& o) {
  const int64_t S = batch.ids.size(1);
  // The LM head (for a 32k vocabulary the largest matmul) runs only from the first position
  // that predicts a response token; the columns before it are zeros (mask 0 there).
  int64_t start = S - 1;
  for (int64_t p : batch.prompt_len) start = std::min(start, std::max<int64_t>(0, p - 1));
  const int64_t W = S - 1 - start;
  torch::Tensor h = o.share_prompts ? packed_hidden(model, batch, start, W) : torch::Tensor();
  if (!h.defined()) {
    model::ForwardArgs a;
    a.input_ids = batch.ids;
    a.attention_mask = batch.attention;
    h = model.forward_hidden(a).narrow(1, start, W);
  }
  torch::Tensor logits = model.lm_logits(h).to(torch::kFloat32);
  torch::Tensor target = batch.ids.narrow(1, start + 1, W).to(logits.device());
  auto pad_front = [&](const torch::Tensor& t) {
    return start == 0 ? t : torch::cat({torch::zeros({t.size(0), start}, t.options()), t}, 1);
  };
  TokenScores out;
  // The one definition of the sampled distribution's log-probs (model/token_logp.h): fused on
  // the CPU without autograd, torch ops otherwise.
  auto [logp, entropy] = model::token_logp_entropy(logits, target, {o.temperature, o.entropy, o.entropy && o.entropy_grad});
  out.logp = pad_front(logp);
  if (o.entropy) out.entropy = pad_front(entropy);
  if (o.values) {
    if (!model.has_scalar_head()) throw Error("score_tokens: values asked of a model without a scalar head");
    out.values = pad_front(model.score_all(h).to(torch::kFloat32));
  }
  return out;
}

}  // namespace arlt::train
