// The BPE model of a tokenizer.json: vocabulary, ranked merges, byte_fallback, ignore_merges,
// continuing_subword_prefix / end_of_word_suffix, unk with fuse_unk. Dropout is not supported
// (it is off in every released model; a non-null dropout is an error).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace arlt::tokenizer {

class BPE {
 public:
  // `streamed`: the vocabulary and merges when parse_tokenizer_json streamed them out of `model`.
  static std::unique_ptr<BPE> from_json(const nlohmann::json& model, const struct TokenizerJson* streamed = nullptr);
  // Appends the ids of one pre-tokenised word.
  void tokenize(std::string_view word, std::vector<int64_t>& out) const;
  int64_t token_to_id(std::string_view token) const;  // -1 if absent
  const std::string* id_to_token(int64_t id) const;   // nullptr if absent
  size_t vocab_size() const { return n_tokens_; }
  int64_t max_id() const { return max_id_; }

  BPE() = default;

 private:
  void tokenize_uncached(std::string_view word, std::vector<int64_t>& out) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;  // "" for ids without a token
  size_t n_tokens_ = 0;
  // (left id, right id) packed into 64 bits -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> merges_;
  std::string unk_token_, prefix_, suffix_;
  int64_t unk_id_ = -1, max_id_ = -1;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  int64_t byte_ids_[256];
  int64_t ascii_ids_[128];  // id of each one-byte character as a whole token (-1 if none), for the fast path

  // Words seen before (most text repeats its words): bounded, shared between threads, in
  // shards so that threads encoding a batch rarely wait for each other.
  struct CacheShard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int64_t>> map;
  };
  static constexpr size_t kShards = 16;
  mutable CacheShard cache_[kShards];
};

}  // namespace arlt::tokenizer
