#include "arlt/tokenizer/bpe.h"

#include <climits>
#include <cstdio>
#include <functional>
#include <queue>

#include "arlt/base/error.h"
#include "arlt/tokenizer/tokenizer_json.h"
#include "arlt/tokenizer/unicode.h"

namespace arlt::tokenizer {
using nlohmann::json;

namespace {
constexpr size_t kCacheMax = 200000;
constexpr size_t kCacheWordMax = 256;  // longer words are rare; do not let them fill the cache
uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
}  // namespace

std::unique_ptr<BPE> BPE::from_json(const json& m, const TokenizerJson* streamed) {
  const std::string where = "tokenizer.json: model";
  if (!m.is_object()) throw Error(where + " is missing or not an object");
  const std::string type = m.contains("type") && m["type"].is_string() ? m["type"].get<std::string>() : "BPE";
  if (type != "BPE")
    throw Error(where + " type '" + type + "' is not supported (supported: BPE; WordLevel and Unigram are not yet)");
  if (m.contains("dropout") && !m["dropout"].is_null() && (!m["dropout"].is_number() || m["dropout"].get<double>() != 0.0))
    throw Error(where + ".dropout is set; BPE dropout is not supported");
  const bool vocab_streamed = streamed && streamed->vocab_streamed;
  if (!vocab_streamed && (!m.contains("vocab") || !m["vocab"].is_object()))
    throw Error(where + ".vocab is missing or not an object");
  auto owned = std::make_unique<BPE>();
  BPE& bpe = *owned;
  auto add_token = [&](const std::string& tok, int64_t id) {
    if (id < 0 || id >= (1LL << 31)) throw Error(where + ".vocab['" + tok + "'] is not an integer id in [0, 2^31)");
    bpe.vocab_.insert_or_assign(tok, id);  // a duplicate key: the last one wins, as in Hugging Face
    bpe.max_id_ = std::max(bpe.max_id_, id);
  };
  if (vocab_streamed) {
    bpe.vocab_.reserve(streamed->vocab.size() * 2);
    for (const auto& [tok, id] : streamed->vocab) add_token(tok, id);
  } else {
    bpe.vocab_.reserve(m["vocab"].size() * 2);
    for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
      if (!it.value().is_number_integer()) throw Error(where + ".vocab['" + it.key() + "'] is not an integer id");
      add_token(it.key(), it.value().get<int64_t>());
    }
  }
  if (bpe.max_id_ >= 0 && static_cast<size_t>(bpe.max_id_) > 4 * bpe.vocab_.size() + 100000)
    throw Error(where + ".vocab: the largest id " + std::to_string(bpe.max_id_) + " is far beyond the " +
                std::to_string(bpe.vocab_.size()) + " entries (ids must be dense)");
  bpe.id_to_token_.assign(static_cast<size_t>(bpe.max_id_ + 1), std::string());
  for (const auto& [tok, id] : bpe.vocab_) bpe.id_to_token_[static_cast<size_t>(id)] = tok;
  bpe.n_tokens_ = bpe.vocab_.size();
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
  for (int c = 0; c < 128; ++c) {
    auto it = bpe.vocab_.find(std::string(1, static_cast<char>(c)));
    bpe.ascii_ids_[c] = it == bpe.vocab_.end() ? -1 : it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    auto it = bpe.vocab_.find(buf);
    bpe.byte_ids_[b] = it == bpe.vocab_.end() ? -1 : it->second;
  }

  std::vector<std::pair<std::string, std::string>> parsed;
  const std::vector<std::pair<std::string, std::string>>* merges = &parsed;
  if (streamed && streamed->merges_streamed) {
    merges = &streamed->merges;
  } else if (m.contains("merges") && !m["merges"].is_null()) {
    if (!m["merges"].is_array()) throw Error(where + ".merges is not a list");
    for (const auto& mg : m["merges"]) {
      const std::string idx = std::to_string(parsed.size());
      if (mg.is_string()) {  // "a b"
        const std::string s = mg.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) throw Error(where + ".merges[" + idx + "] '" + s + "' is not 'a b'");
        parsed.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {  // ["a", "b"]
        parsed.emplace_back(mg[0].get<std::string>(), mg[1].get<std::string>());
      } else {
        throw Error(where + ".merges[" + idx + "] is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }
  const size_t prefix_len = bpe.prefix_.size();
  std::string merged;
  bpe.merges_.reserve(merges->size() * 2);
  for (size_t r = 0; r < merges->size(); ++r) {
    const auto& [a, b] = (*merges)[r];
    auto ia = bpe.vocab_.find(a), ib = bpe.vocab_.find(b);
    if (ia == bpe.vocab_.end() || ib == bpe.vocab_.end())
      throw Error(where + ".merges[" + std::to_string(r) + "] ('" + a + "', '" + b + "') references token '" +
                  (ia == bpe.vocab_.end() ? a : b) + "' that is not in the vocabulary");
    merged.assign(a);
    if (b.size() >= prefix_len && b.compare(0, prefix_len, bpe.prefix_) == 0) merged.append(b, prefix_len, std::string::npos);
    else merged.append(b);
    auto im = bpe.vocab_.find(merged);
    if (im == bpe.vocab_.end())
      throw Error(where + ".merges[" + std::to_string(r) + "] ('" + a + "', '" + b + "') makes '" + merged +
                  "', which is not in the vocabulary");
    bpe.merges_.emplace(pair_key(ia->second, ib->second), std::make_pair(static_cast<int32_t>(r), im->second));
  }
  return owned;
}

int64_t BPE::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BPE::id_to_token(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(id_to_token_.size()) || id_to_token_[id].empty()) return nullptr;
  return &id_to_token_[id];
}

void BPE::tokenize(std::string_view word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (word.size() > kCacheWordMax) {
    tokenize_uncached(word, out);
    return;
  }
  CacheShard& shard = cache_[std::hash<std::string_view>()(word) % kShards];
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(key);
    if (it != shard.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> ids;
  tokenize_uncached(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= kCacheMax / kShards) shard.map.clear();
  shard.map.emplace(std::move(key), std::move(ids));
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
  const bool plain = prefix_.empty() && suffix_.empty();
  std::string s;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (plain && chars[i].size() == 1 && ascii_ids_[static_cast<unsigned char>(chars[i][0])] >= 0) {
      syms.push_back(ascii_ids_[static_cast<unsigned char>(chars[i][0])]);
      last_unk = false;
      continue;
    }
    s.clear();
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
  // Merge the lowest-ranked adjacent pair until none is left, leftmost first among equal ranks
  // (Hugging Face's order). A heap of candidate merges over a linked list of symbols keeps long
  // words (SentencePiece models have no pre-tokenizer: a whole line is one word) O(n log n).
  const int n = static_cast<int>(syms.size());
  if (n < 2) {
    out.insert(out.end(), syms.begin(), syms.end());
    return;
  }
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Cand {
    int32_t rank;
    int pos;
    int64_t left, right, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int i) {
    if (i < 0 || next[i] < 0) return;
    auto it = merges_.find(pair_key(syms[i], syms[next[i]]));
    if (it != merges_.end()) heap.push({it->second.first, i, syms[i], syms[next[i]], it->second.second});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<char> alive(n, 1);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int j = next[c.pos];
    if (!alive[c.pos] || j < 0 || syms[c.pos] != c.left || syms[j] != c.right) continue;  // stale
    syms[c.pos] = c.merged;
    alive[j] = 0;
    next[c.pos] = next[j];
    if (next[j] >= 0) prev[next[j]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  for (int i = 0; i >= 0; i = next[i]) out.push_back(syms[i]);
}

}  // namespace arlt::tokenizer
