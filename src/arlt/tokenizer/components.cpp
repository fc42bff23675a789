#include "arlt/tokenizer/components.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "arlt/base/error.h"
#include "arlt/tokenizer/regex.h"
#include "arlt/tokenizer/unicode.h"

namespace arlt::tokenizer {
using nlohmann::json;

namespace {

std::string type_of(const json& j, const std::string& kind) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw Error("tokenizer.json: " + kind + " has no 'type': " + j.dump().substr(0, 200));
  return j["type"].get<std::string>();
}

std::string str_field(const json& j, const std::string& key, const std::string& where, const std::string& def = "") {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_string()) throw Error("tokenizer.json: " + where + "." + key + " must be a string");
  return j[key].get<std::string>();
}

bool bool_field(const json& j, const std::string& key, bool def) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : def;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  size_t i = 0;
  for (size_t p; (p = s.find(from, i)) != std::string::npos; i = p + from.size()) {
    out.append(s, i, p - i);
    out += to;
  }
  out.append(s, i, std::string::npos);
  s.swap(out);
}

// A {"String": s} or {"Regex": r} pattern, as Replace and Split take.
struct Pattern {
  std::string literal;
  std::unique_ptr<Regex> regex;
  Pattern(const json& j, const std::string& where) {
    if (j.is_object() && j.contains("String") && j["String"].is_string()) literal = j["String"].get<std::string>();
    else if (j.is_object() && j.contains("Regex") && j["Regex"].is_string())
      regex = std::make_unique<Regex>(j["Regex"].get<std::string>(), "tokenizer.json " + where);
    else throw Error("tokenizer.json: " + where + ".pattern must be {\"String\": ...} or {\"Regex\": ...}");
  }
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view s) const {
    if (regex) return regex->find_all(s);
    std::vector<std::pair<size_t, size_t>> out;
    if (literal.empty()) return out;
    for (size_t p = 0; (p = s.find(literal, p)) != std::string::npos; p += literal.size())
      out.emplace_back(p, p + literal.size());
    return out;
  }
};

// ---- normalizers --------------------------------------------------------------------------

// Combining marks that Hugging Face's Rust crate treats as starters (canonical combining class
// 0): its normalisation tables (unicode-normalization-alignments) predate their addition to
// Unicode. Found by scanning every code point against the crate's NFC through its Node binding
// (tests/data/tokenizer/KNOWN_DIFFERENCES.md, item 3). They block composition and reordering there.
bool is_late_mark(char32_t cp) {
  static const char32_t kMarks[] = {
      0x7fd,   0x899,   0x89a,   0x89b,   0x8cf,   0x8d0,   0x8d1,   0x8d2,   0x8d3,   0xc3c,   0xd3b,   0xd3c,
      0xeba,   0x1715,  0x1abf,  0x1ac0,  0x1ac3,  0x1ac4,  0x1aca,  0x1add,  0x1ae6,  0x1aeb,  0x1df6,  0x1df7,
      0x1df8,  0x1df9,  0x1dfa,  0xa82c,  0x10efa, 0x10efb, 0x10efd, 0x10efe, 0x10eff, 0x10f46, 0x10f47, 0x10f4b,
      0x10f4d, 0x10f4e, 0x10f4f, 0x10f50, 0x10f83, 0x10f85, 0x11070, 0x1133b, 0x113ce, 0x113cf, 0x113d0, 0x11839,
      0x1183a, 0x1193d, 0x1193e, 0x11943, 0x119e0, 0x11a34, 0x11a47, 0x11a99, 0x11d42, 0x11d44, 0x11d45, 0x11d97,
      0x11f41, 0x11f42, 0x1612f, 0x16ff0, 0x16ff1, 0x1e4ec, 0x1e4ed, 0x1e4ee, 0x1e5ef};
  if (cp < 0x7fd) return false;
  return std::binary_search(std::begin(kMarks), std::end(kMarks), cp);
}

bool has_late_mark(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0xDF) continue;  // ASCII, continuation bytes and characters below U+07C0
    const size_t l = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i + l > s.size()) break;
    char32_t cp = c < 0xE0 ? (c & 0x1F) : c < 0xF0 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < l; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if (is_late_mark(cp)) return true;
    i += l - 1;
  }
  return false;
}

class UnicodeNorm : public Normalizer {
 public:
  explicit UnicodeNorm(int options) : options_(options) {}
  void normalize(std::string& s) const override {
    if (s.empty()) return;
    // ASCII is invariant under every normalisation form.
    bool ascii = true;
    for (unsigned char c : s) ascii = ascii && c < 0x80;
    if (ascii) return;
    // Normalise the runs between "late" marks on their own and keep those marks as they are,
    // which is what treating them as starters amounts to.
    if (has_late_mark(s)) {
      std::string out, run;
      for (auto c : utf8_chars(s)) {
        if (is_late_mark(utf8_decode(c)[0])) {
          out += map(run);
          run.clear();
          out += c;
        } else {
          run += c;
        }
      }
      out += map(run);
      s.swap(out);
      return;
    }
    s = map(s);
  }

 private:
  std::string map(const std::string& s) const {
    if (s.empty()) return s;
    utf8proc_uint8_t* out = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()),
                          &out, static_cast<utf8proc_option_t>(options_));
    if (n < 0) return s;  // invalid UTF-8 never gets here: input is made valid first
    std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
    return r;
  }
  int options_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    for (char32_t cp : utf8_decode(s)) utf8_append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    s.swap(out);
  }
};

class ReplaceNorm : public Normalizer {
 public:
  ReplaceNorm(const json& j) : pattern_(j.value("pattern", json()), "normalizer Replace"), content_(str_field(j, "content", "normalizer Replace")) {}
  void normalize(std::string& s) const override {
    auto m = pattern_.find_all(s);
    if (m.empty()) return;
    std::string out;
    size_t i = 0;
    for (auto [b, e] : m) {
      out.append(s, i, b - i);
      out += content_;
      i = e;
    }
    out.append(s, i, std::string::npos);
    s.swap(out);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : p_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s = p_ + s;
  }

 private:
  std::string p_;
};

class StripNorm : public Normalizer {
 public:
  StripNorm(bool l, bool r) : left_(l), right_(r) {}
  void normalize(std::string& s) const override {
    auto cps = utf8_decode(s);
    size_t b = 0, e = cps.size();
    if (left_) while (b < e && is_unicode_space(cps[b])) ++b;
    if (right_) while (e > b && is_unicode_space(cps[e - 1])) --e;
    std::string out;
    for (size_t i = b; i < e; ++i) utf8_append(out, cps[i]);
    s.swap(out);
  }

 private:
  bool left_, right_;
};

class NormSequence : public Normalizer {
 public:
  std::vector<std::unique_ptr<Normalizer>> items;
  void normalize(std::string& s) const override {
    for (const auto& n : items) n->normalize(s);
  }
};

// ---- pre-tokenizers -----------------------------------------------------------------------

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

const char* kMetaspace = "\xE2\x96\x81";  // U+2581

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

// ---- decoders -----------------------------------------------------------------------------

class ByteLevelDec : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      std::string mapped;
      bool ok = true;
      for (char32_t cp : utf8_decode(t)) {
        int b = unicode_to_byte(cp);
        if (b < 0) {
          ok = false;
          break;
        }
        mapped.push_back(static_cast<char>(b));
      }
      bytes += ok ? mapped : t;  // a token outside the byte alphabet passes through as its UTF-8
    }
    return {utf8_lossy(bytes)};
  }
};

class MetaspaceDec : public Decoder {
 public:
  explicit MetaspaceDec(const json& j) {
    replacement_ = str_field(j, "replacement", "decoder Metaspace", kMetaspace);
    std::string scheme = str_field(j, "prepend_scheme", "decoder Metaspace", "");
    if (scheme.empty()) scheme = bool_field(j, "add_prefix_space", true) ? "always" : "never";
    prepend_ = scheme != "never";
  }
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      // As Hugging Face: in the first token every replacement character goes when a prefix was prepended.
      replace_all(t, replacement_, i == 0 && prepend_ ? "" : " ");
    }
    return tokens;
  }

 private:
  std::string replacement_;
  bool prepend_;
};

class ByteFallbackDec : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t count = 0;
    auto flush = [&] {
      if (!count) return;
      if (is_valid_utf8(bytes)) out.push_back(bytes);
      else
        for (size_t i = 0; i < count; ++i) out.push_back("\xEF\xBF\xBD");
      bytes.clear();
      count = 0;
    };
    for (auto& t : tokens) {
      int v = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        char* end = nullptr;
        long x = std::strtol(t.substr(3, 2).c_str(), &end, 16);
        if (end && *end == '\0') v = static_cast<int>(x);
      }
      if (v >= 0) {
        bytes.push_back(static_cast<char>(v));
        ++count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class FuseDec : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string s;
    for (auto& t : tokens) s += t;
    return {s};
  }
};

class StripDec : public Decoder {
 public:
  explicit StripDec(const json& j)
      : content_(str_field(j, "content", "decoder Strip", " ")),
        start_(j.contains("start") && j["start"].is_number_integer() ? j["start"].get<int>() : 0),
        stop_(j.contains("stop") && j["stop"].is_number_integer() ? j["stop"].get<int>() : 0) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      auto chars = utf8_chars(t);
      size_t b = 0, e = chars.size();
      for (int k = 0; k < start_ && b < e && chars[b] == content_; ++k) ++b;
      for (int k = 0; k < stop_ && e > b && chars[e - 1] == content_; ++k) --e;
      std::string s;
      for (size_t i = b; i < e; ++i) s += chars[i];
      t.swap(s);
    }
    return tokens;
  }

 private:
  std::string content_;
  int start_, stop_;
};

class ReplaceDec : public Decoder {
 public:
  explicit ReplaceDec(const json& j) : norm_(j) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) norm_.normalize(t);
    return tokens;
  }

 private:
  ReplaceNorm norm_;
};

class DecSequence : public Decoder {
 public:
  std::vector<std::unique_ptr<Decoder>> items;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : items) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }
};

// ---- post-processors ----------------------------------------------------------------------

class TemplatePost : public PostProcessor {
 public:
  explicit TemplatePost(const json& j) {
    const std::string where = "post_processor TemplateProcessing";
    if (!j.contains("single") || !j["single"].is_array()) throw Error("tokenizer.json: " + where + " has no 'single' template");
    const json specials = j.value("special_tokens", json::object());
    for (const auto& item : j["single"]) {
      if (item.contains("Sequence")) {
        steps_.push_back({true, {}});
      } else if (item.contains("SpecialToken")) {
        const std::string id = item["SpecialToken"].value("id", "");
        if (!specials.contains(id) || !specials[id].contains("ids"))
          throw Error("tokenizer.json: " + where + " uses special token '" + id + "' that special_tokens does not define");
        steps_.push_back({false, specials[id]["ids"].get<std::vector<int64_t>>()});
      } else {
        throw Error("tokenizer.json: " + where + ": unknown template item " + item.dump());
      }
    }
  }
  std::vector<int64_t> process(std::vector<int64_t> ids) const override {
    std::vector<int64_t> out;
    out.reserve(ids.size() + 4);
    for (const auto& s : steps_) {
      if (s.sequence) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), s.ids.begin(), s.ids.end());
    }
    return out;
  }
  size_t added_tokens() const override {
    size_t n = 0;
    for (const auto& s : steps_) n += s.ids.size();
    return n;
  }

 private:
  struct Step {
    bool sequence;
    std::vector<int64_t> ids;
  };
  std::vector<Step> steps_;
};

class WrapPost : public PostProcessor {  // Bert / Roberta: [cls] A [sep]
 public:
  explicit WrapPost(const json& j) {
    auto id_of = [&](const char* key) {
      if (!j.contains(key) || !j[key].is_array() || j[key].size() != 2 || !j[key][1].is_number_integer())
        throw Error(std::string("tokenizer.json: post_processor ") + j.value("type", "") + "." + key + " must be [token, id]");
      return j[key][1].get<int64_t>();
    };
    cls_ = id_of("cls");
    sep_ = id_of("sep");
  }
  std::vector<int64_t> process(std::vector<int64_t> ids) const override {
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
    return ids;
  }
  size_t added_tokens() const override { return 2; }

 private:
  int64_t cls_, sep_;
};

class IdentityPost : public PostProcessor {
 public:
  std::vector<int64_t> process(std::vector<int64_t> ids) const override { return ids; }
  size_t added_tokens() const override { return 0; }
};

class PostSequence : public PostProcessor {
 public:
  std::vector<std::unique_ptr<PostProcessor>> items;
  std::vector<int64_t> process(std::vector<int64_t> ids) const override {
    for (const auto& p : items) ids = p->process(std::move(ids));
    return ids;
  }
  size_t added_tokens() const override {
    size_t n = 0;
    for (const auto& p : items) n += p->added_tokens();
    return n;
  }
};

const json& list_field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_array()) throw Error("tokenizer.json: " + where + " Sequence has no '" + key + "' list");
  return j[key];
}

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = type_of(j, "normalizer");
  if (t == "NFC") return std::make_unique<UnicodeNorm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (t == "NFD") return std::make_unique<UnicodeNorm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  if (t == "NFKC") return std::make_unique<UnicodeNorm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (t == "NFKD") return std::make_unique<UnicodeNorm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (t == "Lowercase") return std::make_unique<Lowercase>();
  if (t == "Replace") return std::make_unique<ReplaceNorm>(j);
  if (t == "Prepend") return std::make_unique<Prepend>(str_field(j, "prepend", "normalizer Prepend"));
  if (t == "Strip") return std::make_unique<StripNorm>(bool_field(j, "strip_left", true), bool_field(j, "strip_right", true));
  if (t == "Sequence") {
    auto s = std::make_unique<NormSequence>();
    for (const auto& x : list_field(j, "normalizers", "normalizer")) {
      auto n = make_normalizer(x);
      if (n) s->items.push_back(std::move(n));
    }
    return s;
  }
  throw Error("tokenizer.json: normalizer type '" + t + "' is not supported (supported: NFC, NFD, NFKC, NFKD, "
              "Lowercase, Replace, Prepend, Strip, Sequence)");
}

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

std::unique_ptr<Decoder> make_decoder(const json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = type_of(j, "decoder");
  if (t == "ByteLevel") return std::make_unique<ByteLevelDec>();
  if (t == "Metaspace") return std::make_unique<MetaspaceDec>(j);
  if (t == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (t == "Fuse") return std::make_unique<FuseDec>();
  if (t == "Strip") return std::make_unique<StripDec>(j);
  if (t == "Replace") return std::make_unique<ReplaceDec>(j);
  if (t == "Sequence") {
    auto s = std::make_unique<DecSequence>();
    for (const auto& x : list_field(j, "decoders", "decoder")) {
      auto d = make_decoder(x);
      if (d) s->items.push_back(std::move(d));
    }
    return s;
  }
  throw Error("tokenizer.json: decoder type '" + t + "' is not supported (supported: ByteLevel, Metaspace, "
              "ByteFallback, Fuse, Strip, Replace, Sequence)");
}

std::unique_ptr<PostProcessor> make_post_processor(const json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = type_of(j, "post_processor");
  if (t == "TemplateProcessing") return std::make_unique<TemplatePost>(j);
  if (t == "ByteLevel") return std::make_unique<IdentityPost>();
  if (t == "BertProcessing" || t == "RobertaProcessing") return std::make_unique<WrapPost>(j);
  if (t == "Sequence") {
    auto s = std::make_unique<PostSequence>();
    for (const auto& x : list_field(j, "processors", "post_processor")) {
      auto p = make_post_processor(x);
      if (p) s->items.push_back(std::move(p));
    }
    return s;
  }
  throw Error("tokenizer.json: post_processor type '" + t + "' is not supported (supported: TemplateProcessing, "
              "ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
}

}  // namespace arlt::tokenizer
