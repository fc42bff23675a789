// tokenizer.json's normalizers: NFC/NFD/NFKC/NFKD, Lowercase, Replace, Prepend, Strip, Sequence.
#include "arlt/tokenizer/components.h"

#include <utf8proc.h>

#include <algorithm>

#include "arlt/tokenizer/unicode.h"
#include "arlt/tokenizer/component_fields.h"

namespace arlt::tokenizer {
using namespace detail;

namespace {

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

}  // namespace arlt::tokenizer
