// The engine's KV cache: K/V per layer [slots, kv_heads, max_len, head_dim], one row ("slot")
// per running sequence. A step runs a ragged batch as one row of N tokens: segments (slot,
// start position, length), decode segments (one token) first. The cache computes attention
// itself: each token attends the filled positions of its own slot only.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "arlt/model/kv_cache.h"

namespace arlt::model {
struct ModelConfig;
}

namespace arlt::engine {

class SlotCache : public model::KVCacheBase {
 public:
  struct Segment {
    int64_t slot, start, len;
  };
  SlotCache(const model::ModelConfig& c, int64_t slots, int64_t max_len, torch::Dtype dtype, torch::Device device);

  // Segments of the next forward; the decode ones (len 1) first. A one-token prefill chunk right
  // after them counts as decode here: the same attention (one query at its slot and position).
  void configure(std::vector<Segment> segs);

  int64_t batch() const override { return 1; }
  int64_t length() const override { return 0; }
  std::pair<torch::Tensor, torch::Tensor> append(int64_t, const torch::Tensor&, const torch::Tensor&) override;
  void advance(int64_t) override {}
  bool computes_attention() const override { return true; }
  torch::Tensor attend(int64_t layer, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) override;

  // A row's filled positions, copied out (to park a sequence) and back in (to resume it).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> save_row(int64_t row, int64_t len) const;
  void load_row(int64_t row, const std::vector<std::pair<torch::Tensor, torch::Tensor>>& saved);
  void copy_row(int64_t from, int64_t to, int64_t len);
  int64_t max_len() const { return max_len_; }
  bool force_torch_path = false;  // tests: the torch ops instead of the CPU kernel

 private:
  void decode_gathered(int64_t layer, const torch::Tensor& qn, torch::Tensor& out);
  void prefill_segment(int64_t layer, const torch::Tensor& qn, torch::Tensor& out, const Segment& sg, int64_t off);

  int64_t max_len_, heads_, kv_heads_, head_dim_, n_decode_ = 0, max_decode_pos_ = 0;
  std::vector<Segment> segs_;
  std::vector<torch::Tensor> k_, v_;
  torch::Tensor kv_idx_, slot_cpu_, pos_cpu_, slot_t_, pos_t_;
};

}  // namespace arlt::engine
