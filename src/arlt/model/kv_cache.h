// KVCache: per-layer keys and values of the positions already run, so that an incremental
// forward computes only the new tokens. All rows of the batch share one length; rows with
// shorter prompts are left-padded and masked through the attention mask.
#pragma once
#include <torch/types.h>

#include <vector>

#include "arlt/model/config.h"

namespace arlt::model {

// What attention needs from a cache: store this layer's new keys/values and return all the
// keys/values the new tokens attend to. `length()` is the number of positions before the new
// tokens (the causal offset). The engine's per-sequence slot cache implements it too.
class KVCacheBase {
 public:
  virtual ~KVCacheBase() = default;
  virtual int64_t batch() const = 0;
  virtual int64_t length() const = 0;
  virtual std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) = 0;
  virtual void advance(int64_t tokens) = 0;
  // A cache that computes attention itself (the engine's ragged steps, where the tokens of many
  // sequences at different positions run as one row). Attention then hands it the queries
  // [1,H,N,D] (RoPE applied) and the new keys/values [1,KV,N,D], and gets the attention output
  // [1,N,H*D]; no mask is built.
  virtual bool computes_attention() const { return false; }
  virtual torch::Tensor attend(int64_t layer, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);
};

class KVCache : public KVCacheBase {
 public:
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity, torch::Dtype dtype,
          torch::Device device = torch::kCPU);

  int64_t batch() const override { return batch_; }
  int64_t length() const override { return length_; }  // positions filled
  int64_t capacity() const { return capacity_; }  // positions that fit
  // Bytes of K and V held per position of one sequence (all layers).
  int64_t bytes_per_token() const;

  // Stores the new keys/values [B, n_kv, T, D] of `layer` at [length, length+T) and returns
  // views over all keys/values [B, n_kv, length+T, D]. The length moves on in advance().
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) override;
  void advance(int64_t tokens) override;
  void reset() { length_ = 0; }

 private:
  int64_t batch_, capacity_, length_ = 0;
  std::vector<torch::Tensor> keys_, values_;
};

}  // namespace arlt::model
