#include "arlt/tokenizer/bpe.h"

#include <climits>
#include <cstdio>

#include "arlt/base/error.h"
#include "arlt/tokenizer/unicode.h"

namespace arlt::tokenizer {
using nlohmann::json;

namespace {
constexpr size_t kCacheMax = 200000;
constexpr size_t kCacheWordMax = 256;  // longer words are rare; do not let them fill the cache
uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
}  // namespace

std::unique_ptr<BPE> BPE::from_json(const json& m) {
  const std::string where = "tokenizer.json: model";
  if (!m.is_object()) throw Error(where + " is missing or not an object");
  const std::string type = m.value("type", "BPE");
  if (type != "BPE")
    throw Error(where + " type '" + type + "' is not supported (supported: BPE; WordLevel and Unigram are not yet)");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
    throw Error(where + ".dropout is set; BPE dropout is not supported");
  if (!m.contains("vocab") || !m["vocab"].is_object()) throw Error(where + ".vocab is missing or not an object");
  auto owned = std::make_unique<BPE>();
  BPE& bpe = *owned;
  bpe.vocab_.reserve(m["vocab"].size() * 2);
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      throw Error(where + ".vocab['" + it.key() + "'] is not a non-negative integer id");
    const int64_t id = it.value().get<int64_t>();
    bpe.vocab_[it.key()] = id;
    bpe.id_to_token_[id] = it.key();
    bpe.max_id_ = std::max(bpe.max_id_, id);
  }
  auto opt_str = [&](const char* k) {
    return m.contains(k) && m[k].is_string() ? m[k].get<std::string>() : std::string();
  };
  bpe.unk_token_ = opt_str("unk_token");
  bpe.prefix_ = opt_str("continuing_subword_prefix");
  bpe.suffix_ = opt_str("end_of_word_suffix");
  bpe.byte_fallback_ = m.value("byte_fallback", false);
  bpe.fuse_unk_ = m.value("fuse_unk", false);
  bpe.ignore_merges_ = m.value("ignore_merges", false);
  if (!bpe.unk_token_.empty()) {
    auto it = bpe.vocab_.find(bpe.unk_token_);
    if (it == bpe.vocab_.end()) throw Error(where + ".unk_token '" + bpe.unk_token_ + "' is not in the vocabulary");
    bpe.unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    auto it = bpe.vocab_.find(buf);
    bpe.byte_ids_[b] = it == bpe.vocab_.end() ? -1 : it->second;
  }

  if (m.contains("merges") && !m["merges"].is_null()) {
    if (!m["merges"].is_array()) throw Error(where + ".merges is not a list");
    const size_t prefix_len = bpe.prefix_.size();
    int32_t rank = 0;
    bpe.merges_.reserve(m["merges"].size() * 2);
    for (const auto& mg : m["merges"]) {
      std::string a, b;
      if (mg.is_string()) {  // "a b"
        const std::string s = mg.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) throw Error(where + ".merges[" + std::to_string(rank) + "] '" + s + "' is not 'a b'");
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {  // ["a", "b"]
        a = mg[0].get<std::string>();
        b = mg[1].get<std::string>();
      } else {
        throw Error(where + ".merges[" + std::to_string(rank) + "] is neither \"a b\" nor [\"a\", \"b\"]");
      }
      auto ia = bpe.vocab_.find(a), ib = bpe.vocab_.find(b);
      if (ia == bpe.vocab_.end() || ib == bpe.vocab_.end())
        throw Error(where + ".merges[" + std::to_string(rank) + "] ('" + a + "', '" + b + "') references token '" +
                    (ia == bpe.vocab_.end() ? a : b) + "' that is not in the vocabulary");
      const std::string merged = a + (b.size() >= prefix_len && b.compare(0, prefix_len, bpe.prefix_) == 0 ? b.substr(prefix_len) : b);
      auto im = bpe.vocab_.find(merged);
      if (im == bpe.vocab_.end())
        throw Error(where + ".merges[" + std::to_string(rank) + "] ('" + a + "', '" + b + "') makes '" + merged +
                    "', which is not in the vocabulary");
      bpe.merges_.emplace(pair_key(ia->second, ib->second), std::make_pair(rank, im->second));
      ++rank;
    }
  }
  return owned;
}

int64_t BPE::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BPE::id_to_token(int64_t id) const {
  auto it = id_to_token_.find(id);
  return it == id_to_token_.end() ? nullptr : &it->second;
}

void BPE::tokenize(std::string_view word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  const bool cacheable = word.size() <= kCacheWordMax;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> ids;
  tokenize_uncached(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kCacheMax) cache_.clear();
    cache_.emplace(std::string(word), std::move(ids));
  }
}

void BPE::tokenize_uncached(std::string_view word, std::vector<int64_t>& out) const {
  if (ignore_merges_) {
    auto it = vocab_.find(std::string(word));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // Initial symbols: one per character (with prefix/suffix), unknown ones by byte fallback or unk.
  std::vector<int64_t> syms;
  auto chars = utf8_chars(word);
  bool last_unk = false;
  for (size_t i = 0; i < chars.size(); ++i) {
    std::string s;
    if (i > 0) s += prefix_;
    s += chars[i];
    if (i + 1 == chars.size()) s += suffix_;
    auto it = vocab_.find(s);
    if (it != vocab_.end()) {
      syms.push_back(it->second);
      last_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : chars[i]) all = all && byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : chars[i]) syms.push_back(byte_ids_[c]);
        last_unk = false;
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (!(fuse_unk_ && last_unk)) syms.push_back(unk_id_);
      last_unk = true;
    }
    // No unk token and no byte fallback: the character is dropped, as Hugging Face does.
  }
  // Merge the lowest-ranked adjacent pair until none is left.
  while (syms.size() > 1) {
    int32_t best_rank = INT32_MAX;
    size_t best = 0;
    int64_t best_id = -1;
    for (size_t i = 0; i + 1 < syms.size(); ++i) {
      auto it = merges_.find(pair_key(syms[i], syms[i + 1]));
      if (it != merges_.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best = i;
        best_id = it->second.second;
      }
    }
    if (best_id < 0) break;
    // Merge every non-overlapping occurrence of this pair, left to right (same rank = same pair).
    const int64_t a = syms[best], b = syms[best + 1];
    std::vector<int64_t> next;
    next.reserve(syms.size());
    for (size_t i = 0; i < syms.size();) {
      if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b) {
        next.push_back(best_id);
        i += 2;
      } else {
        next.push_back(syms[i++]);
      }
    }
    syms.swap(next);
  }
  out.insert(out.end(), syms.begin(), syms.end());
}

}  // namespace arlt::tokenizer
