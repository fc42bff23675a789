#include "arlt/engine/slot_cache.h"

#include <algorithm>
#include <cmath>

#include "arlt/base/error.h"
#include "arlt/model/config.h"
#include "arlt/model/cpu_kernels.h"
#include "arlt/model/transformer.h"

namespace arlt::engine {

SlotCache::SlotCache(const model::ModelConfig& c, int64_t slots, int64_t max_len, torch::Dtype dtype, torch::Device device)
    : max_len_(max_len), heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    k_.push_back(model::empty_on_huge_pages({slots, c.num_key_value_heads, max_len, c.head_dim}, opts).zero_());
    v_.push_back(model::empty_on_huge_pages({slots, c.num_key_value_heads, max_len, c.head_dim}, opts).zero_());
  }
  kv_idx_ = torch::arange(c.num_key_value_heads, torch::TensorOptions().dtype(torch::kInt64).device(device)).unsqueeze(0);
}

void SlotCache::configure(std::vector<Segment> segs) {
  segs_ = std::move(segs);
  std::vector<int64_t> slot, pos;
  n_decode_ = 0;
  for (const auto& sg : segs_) {
    if (sg.len == 1 && n_decode_ == static_cast<int64_t>(slot.size())) ++n_decode_;
    for (int64_t t = 0; t < sg.len; ++t) {
      slot.push_back(sg.slot);
      pos.push_back(sg.start + t);
    }
  }
  slot_cpu_ = torch::tensor(slot, torch::kInt64);
  pos_cpu_ = torch::tensor(pos, torch::kInt64);
  auto dev = k_[0].device();
  slot_t_ = slot_cpu_.to(dev).unsqueeze(1);
  pos_t_ = pos_cpu_.to(dev).unsqueeze(1);
  max_decode_pos_ = 0;
  for (int64_t i = 0; i < n_decode_; ++i) max_decode_pos_ = std::max(max_decode_pos_, pos[i]);
}

std::pair<torch::Tensor, torch::Tensor> SlotCache::append(int64_t, const torch::Tensor&, const torch::Tensor&) {
  throw Error("engine slot cache: append is not used (it computes attention itself)");
}

torch::Tensor SlotCache::attend(int64_t layer, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t N = q.size(2), H = heads_, D = head_dim_;
  // Store the new keys/values at (slot, position) of each token.
  k_[layer].index_put_({slot_t_, kv_idx_, pos_t_}, k[0].transpose(0, 1));
  v_[layer].index_put_({slot_t_, kv_idx_, pos_t_}, v[0].transpose(0, 1));
  torch::Tensor qn = q[0].transpose(0, 1).contiguous();  // [N,H,D]
  torch::Tensor out = torch::empty_like(qn);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  const bool kernel = qn.device().is_cpu() && qn.scalar_type() == torch::kFloat32 && !force_torch_path;
  if (n_decode_ > 0) {
    if (kernel) model::slot_attention(qn, k_[layer], v_[layer], slot_cpu_, pos_cpu_, scale, out, 0, n_decode_);
    else decode_gathered(layer, qn, out);
  }
  int64_t off = 0;
  for (const auto& sg : segs_) {
    if (off >= n_decode_) {
      if (kernel && sg.len <= 16) model::slot_attention(qn, k_[layer], v_[layer], slot_cpu_, pos_cpu_, scale, out, off, off + sg.len);
      else prefill_segment(layer, qn, out, sg, off);
    }
    off += sg.len;
  }
  return out.view({1, N, H * D});
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> SlotCache::save_row(int64_t row, int64_t len) const {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (size_t l = 0; l < k_.size(); ++l)
    out.emplace_back(k_[l][row].narrow(1, 0, len).clone(), v_[l][row].narrow(1, 0, len).clone());
  return out;
}

void SlotCache::load_row(int64_t row, const std::vector<std::pair<torch::Tensor, torch::Tensor>>& saved) {
  for (size_t l = 0; l < k_.size(); ++l) {
    k_[l][row].narrow(1, 0, saved[l].first.size(1)).copy_(saved[l].first);
    v_[l][row].narrow(1, 0, saved[l].second.size(1)).copy_(saved[l].second);
  }
}

void SlotCache::copy_row(int64_t from, int64_t to, int64_t len) {
  for (size_t l = 0; l < k_.size(); ++l) {
    k_[l][to].narrow(1, 0, len).copy_(k_[l][from].narrow(1, 0, len));
    v_[l][to].narrow(1, 0, len).copy_(v_[l][from].narrow(1, 0, len));
  }
}

// The decode tokens [0, n_decode) with torch ops: their slots' keys gathered up to the longest.
void SlotCache::decode_gathered(int64_t layer, const torch::Tensor& qn, torch::Tensor& out) {
  const int64_t B = n_decode_, S = max_decode_pos_ + 1;
  torch::Tensor slots = slot_t_.narrow(0, 0, B).squeeze(1);
  torch::Tensor keys = k_[layer].narrow(2, 0, S).index_select(0, slots);  // [B,KV,S,D]
  torch::Tensor vals = v_[layer].narrow(2, 0, S).index_select(0, slots);
  torch::Tensor allowed = torch::arange(S, pos_t_.options()).unsqueeze(0) <= pos_t_.narrow(0, 0, B);  // [B,S]
  torch::Tensor q = qn.narrow(0, 0, B).unsqueeze(2);  // [B,H,1,D]
  out.narrow(0, 0, B).copy_(model::gqa_attention(q, keys, vals, model::additive_mask(allowed).view({B, 1, 1, 1, S})).squeeze(2));
}

// One sequence's chunk of `len` tokens at positions start.. of its slot: causal over its row.
void SlotCache::prefill_segment(int64_t layer, const torch::Tensor& qn, torch::Tensor& out, const Segment& sg, int64_t off) {
  const int64_t T = sg.len, S = sg.start + T;
  torch::Tensor keys = k_[layer][sg.slot].narrow(1, 0, S).unsqueeze(0), vals = v_[layer][sg.slot].narrow(1, 0, S).unsqueeze(0);
  auto iopts = torch::TensorOptions().dtype(torch::kInt64).device(qn.device());
  torch::Tensor allowed = torch::arange(S, iopts).unsqueeze(0) <= torch::arange(sg.start, S, iopts).unsqueeze(1);  // [T,S]
  torch::Tensor q = qn.narrow(0, off, T).transpose(0, 1).unsqueeze(0);  // [1,H,T,D]
  out.narrow(0, off, T).copy_(model::gqa_attention(q, keys, vals, model::additive_mask(allowed))[0].transpose(0, 1));
}

}  // namespace arlt::engine
