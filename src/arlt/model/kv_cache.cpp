#include "arlt/model/kv_cache.h"

#include <torch/torch.h>

#include "arlt/base/error.h"

namespace arlt::model {

torch::Tensor KVCacheBase::attend(int64_t, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  throw Error("this KV cache does not compute attention");
}

KVCache::KVCache(const ModelConfig& c, int64_t batch, int64_t capacity, torch::Dtype dtype, torch::Device device)
    : batch_(batch), capacity_(capacity) {
  if (batch <= 0 || capacity <= 0) throw Error("KVCache: batch and capacity must be positive");
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    keys_.push_back(torch::empty({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
    values_.push_back(torch::empty({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
  }
}

int64_t KVCache::bytes_per_token() const {
  int64_t total = 0;
  for (const auto& k : keys_) total += 2 * k.size(1) * k.size(3) * k.element_size();
  return total;
}

std::pair<torch::Tensor, torch::Tensor> KVCache::append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  if (length_ + t > capacity_)
    throw Error("KVCache: " + std::to_string(length_ + t) + " positions exceed the capacity of " +
                std::to_string(capacity_));
  if (k.size(0) != batch_) throw Error("KVCache: batch " + std::to_string(k.size(0)) + " != " + std::to_string(batch_));
  keys_[layer].narrow(2, length_, t).copy_(k);
  values_[layer].narrow(2, length_, t).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + t), values_[layer].narrow(2, 0, length_ + t)};
}

void KVCache::advance(int64_t tokens) { length_ += tokens; }

}  // namespace arlt::model
