// Attention of single query tokens over a slot KV cache: the engine's decode step. Plain
// pointers, no torch: every query token reads only the positions its own sequence has filled,
// wherever its slot is, so the engine needs neither contiguous rows nor padding masks.
#pragma once
#include <cstdint>

namespace arlt::kernels {

struct SlotAttentionArgs {
  const float* q = nullptr;        // [N, H, D] queries (RoPE applied, not scaled)
  const float* k = nullptr;        // [slots, KV, L, D] keys of the cache (this layer)
  const float* v = nullptr;        // [slots, KV, L, D] values
  const int64_t* slot = nullptr;   // [N] the slot of query token i
  const int64_t* pos = nullptr;    // [N] token i attends positions 0 .. pos[i] of its slot
  int64_t H = 0, KV = 0, L = 0, D = 0;
  float scale = 1.f;               // usually 1 / sqrt(D)
  float* out = nullptr;            // [N, H, D]
};

// out[i, h] = softmax_{s <= pos[i]}(scale * q[i, h] . k[slot[i], h / G, s]) . v[slot[i], h / G, s]
// for the work items i * KV + g in [begin, end) (the G = H / KV query heads of KV head g).
// Items are independent: callers split [0, N * KV) across threads.
// prefetch_end (at least end): the item after the last of [begin, end) is prefetched if it is
// below this, since the same thread takes it next (parallel_for_chunks' own_end).
void slot_attention(const SlotAttentionArgs& a, int64_t begin, int64_t end, int64_t prefetch_end = -1);

}  // namespace arlt::kernels
