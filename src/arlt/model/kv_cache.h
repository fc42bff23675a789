// KVCache: per-layer keys and values of the positions already run, so that an incremental
// forward computes only the new tokens. All rows of the batch share one length; rows with
// shorter prompts are left-padded and masked through the attention mask.
#pragma once
#include <torch/types.h>

#include <vector>

#include "arlt/model/config.h"

namespace arlt::model {

class KVCache {
 public:
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity, torch::Dtype dtype,
          torch::Device device = torch::kCPU);

  int64_t batch() const { return batch_; }
  int64_t length() const { return length_; }      // positions filled
  int64_t capacity() const { return capacity_; }  // positions that fit
  // Bytes of K and V held per position of one sequence (all layers).
  int64_t bytes_per_token() const;

  // Stores the new keys/values [B, n_kv, T, D] of `layer` at [length, length+T) and returns
  // views over all keys/values [B, n_kv, length+T, D]. The length moves on in advance().
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  void advance(int64_t tokens);
  void reset() { length_ = 0; }

 private:
  int64_t batch_, capacity_, length_ = 0;
  std::vector<torch::Tensor> keys_, values_;
};

}  // namespace arlt::model
