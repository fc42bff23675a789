// tokenizer.json's pre-tokenizers: ByteLevel, Split, Digits, Metaspace, Whitespace(Split), Punctuation, Sequence.
#include "arlt/tokenizer/components.h"

#include <algorithm>
#include <tuple>

#include "arlt/tokenizer/unicode.h"
#include "arlt/tokenizer/component_fields.h"

namespace arlt::tokenizer {
using namespace detail;

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const json& j, const std::string& where) {
  const std::string b = str_field(j, "behavior", where, "Isolated");
  if (b == "Removed") return Behavior::Removed;
  if (b == "Isolated") return Behavior::Isolated;
  if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::MergedWithNext;
  if (b == "Contiguous") return Behavior::Contiguous;
  throw Error("tokenizer.json: " + where + ".behavior '" + b + "' is not one of Removed, Isolated, "
              "MergedWithPrevious, MergedWithNext, Contiguous");
}

// Splits one piece at `matches` (the delimiters) following HF's SplitDelimiterBehavior.
void split_piece(const Piece& p, const std::vector<std::pair<size_t, size_t>>& matches, Behavior behavior,
                 std::vector<Piece>& out) {
  const std::string& s = p.text;
  // (begin, end, is_delimiter) spans covering s
  std::vector<std::tuple<size_t, size_t, bool>> spans;
  size_t i = 0;
  for (auto [b, e] : matches) {
    if (b > i) spans.emplace_back(i, b, false);
    spans.emplace_back(b, e, true);
    i = e;
  }
  if (i < s.size()) spans.emplace_back(i, s.size(), false);
  if (behavior == Behavior::Contiguous) {
    std::vector<std::tuple<size_t, size_t, bool>> merged;
    for (auto& sp : spans) {
      if (!merged.empty() && std::get<2>(merged.back()) && std::get<2>(sp)) std::get<1>(merged.back()) = std::get<1>(sp);
      else merged.push_back(sp);
    }
    spans.swap(merged);
  }
  std::vector<std::pair<size_t, size_t>> result;
  bool last_was_delim = false;  // MergedWithPrevious joins a delimiter to the content before it only
  bool pending_next = false;
  size_t pending_begin = 0;
  for (auto [b, e, delim] : spans) {
    if (!delim) {
      last_was_delim = false;
      if (pending_next) {
        result.emplace_back(pending_begin, e);
        pending_next = false;
      } else {
        result.emplace_back(b, e);
      }
      continue;
    }
    switch (behavior) {
      case Behavior::Removed: break;
      case Behavior::Isolated:
      case Behavior::Contiguous: result.emplace_back(b, e); break;
      case Behavior::MergedWithPrevious:
        if (!result.empty() && result.back().second == b && !last_was_delim) result.back().second = e;
        else result.emplace_back(b, e);
        last_was_delim = true;
        break;
      case Behavior::MergedWithNext:
        if (pending_next) result.emplace_back(pending_begin, b);
        pending_next = true;
        pending_begin = b;
        break;
    }
  }
  if (pending_next) result.emplace_back(pending_begin, s.size());
  for (auto [b, e] : result)
    if (e > b) out.push_back({s.substr(b, e - b), p.at_start && b == 0});
}

std::vector<std::pair<size_t, size_t>> invert_matches(const std::vector<std::pair<size_t, size_t>>& m, size_t n) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  for (auto [b, e] : m) {
    if (b > i) out.emplace_back(i, b);
    i = e;
  }
  if (i < n) out.emplace_back(i, n);
  return out;
}

class SplitPre : public PreTokenizer {
 public:
  explicit SplitPre(const json& j)
      : pattern_(j.value("pattern", json()), "pre_tokenizer Split"),
        behavior_(parse_behavior(j, "pre_tokenizer Split")),
        invert_(bool_field(j, "invert", false)) {}
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const auto& p : pieces) {
      auto m = pattern_.find_all(p.text);
      if (invert_) m = invert_matches(m, p.text.size());
      split_piece(p, m, behavior_, out);
    }
    pieces.swap(out);
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevelPre : public PreTokenizer {
 public:
  explicit ByteLevelPre(const json& j)
      : add_prefix_space_(bool_field(j, "add_prefix_space", true)), use_regex_(bool_field(j, "use_regex", true)) {}
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (auto& p : pieces) {
      Piece q = p;
      if (add_prefix_space_ && (q.text.empty() || q.text[0] != ' ')) q.text = " " + q.text;
      if (use_regex_) split_piece(q, gpt2_regex().find_all(q.text), Behavior::Isolated, out);
      else out.push_back(q);
    }
    const auto& map = byte_to_unicode();
    for (auto& p : out) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (unsigned char c : p.text) mapped += map[c];
      p.text.swap(mapped);
    }
    pieces.swap(out);
  }

 private:
  bool add_prefix_space_, use_regex_;
};


class MetaspacePre : public PreTokenizer {
 public:
  explicit MetaspacePre(const json& j) {
    replacement_ = str_field(j, "replacement", "pre_tokenizer Metaspace", kMetaspace);
    std::string scheme = str_field(j, "prepend_scheme", "pre_tokenizer Metaspace", "");
    if (scheme.empty()) scheme = bool_field(j, "add_prefix_space", true) ? "always" : "never";
    if (scheme != "always" && scheme != "first" && scheme != "never")
      throw Error("tokenizer.json: pre_tokenizer Metaspace.prepend_scheme '" + scheme + "' is not always, first or never");
    scheme_ = scheme;
    split_ = bool_field(j, "split", true);
  }
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (auto p : pieces) {
      replace_all(p.text, " ", replacement_);
      const bool starts = p.text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == "always" || (scheme_ == "first" && p.at_start))) p.text = replacement_ + p.text;
      if (split_) {
        std::vector<std::pair<size_t, size_t>> m;
        for (size_t i = 0; (i = p.text.find(replacement_, i)) != std::string::npos; i += replacement_.size())
          m.emplace_back(i, i + replacement_.size());
        split_piece(p, m, Behavior::MergedWithNext, out);
      } else {
        out.push_back(p);
      }
    }
    pieces.swap(out);
  }

 private:
  std::string replacement_, scheme_;
  bool split_;
};

class RegexPre : public PreTokenizer {
 public:
  RegexPre(const std::string& pattern, bool keep_matches, Behavior b, const std::string& name)
      : re_(pattern, "pre_tokenizer " + name), keep_(keep_matches), behavior_(b) {}
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const auto& p : pieces) {
      auto m = re_.find_all(p.text);
      if (keep_) m = invert_matches(m, p.text.size());  // the matches are the pieces: the rest is removed
      split_piece(p, m, behavior_, out);
    }
    pieces.swap(out);
  }

 private:
  Regex re_;
  bool keep_;
  Behavior behavior_;
};

class PreSequence : public PreTokenizer {
 public:
  std::vector<std::unique_ptr<PreTokenizer>> items;
  void split(std::vector<Piece>& pieces) const override {
    for (const auto& p : items) p->split(pieces);
  }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = type_of(j, "pre_tokenizer");
  if (t == "ByteLevel") return std::make_unique<ByteLevelPre>(j);
  if (t == "Split") return std::make_unique<SplitPre>(j);
  if (t == "Digits")  // Rust's char::is_numeric: any \p{N}, not only ASCII digits
    return std::make_unique<RegexPre>(bool_field(j, "individual_digits", false) ? "\\p{N}" : "\\p{N}+", false,
                                      Behavior::Isolated, "Digits");
  if (t == "Metaspace") return std::make_unique<MetaspacePre>(j);
  if (t == "Whitespace") return std::make_unique<RegexPre>("\\w+|[^\\w\\s]+", true, Behavior::Removed, "Whitespace");
  if (t == "WhitespaceSplit") return std::make_unique<RegexPre>("\\s+", false, Behavior::Removed, "WhitespaceSplit");
  if (t == "Punctuation")
    return std::make_unique<RegexPre>("[\\p{P}!-/:-@\\[-`{-~]", false, parse_behavior(j, "pre_tokenizer Punctuation"),
                                      "Punctuation");
  if (t == "Sequence") {
    auto s = std::make_unique<PreSequence>();
    for (const auto& x : list_field(j, "pretokenizers", "pre_tokenizer")) {
      auto p = make_pre_tokenizer(x);
      if (p) s->items.push_back(std::move(p));
    }
    return s;
  }
  throw Error("tokenizer.json: pre_tokenizer type '" + t + "' is not supported (supported: ByteLevel, Split, Digits, "
              "Metaspace, Whitespace, WhitespaceSplit, Punctuation, Sequence)");
}

}  // namespace arlt::tokenizer
