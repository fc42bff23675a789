// tokenizer.json's decoders: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence.
#include "arlt/tokenizer/components.h"

#include <algorithm>
#include <cstdlib>

#include "arlt/tokenizer/unicode.h"
#include "arlt/tokenizer/component_fields.h"

namespace arlt::tokenizer {
using namespace detail;

namespace {

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
  // The same replacement as the Replace normalizer's (same JSON shape), token by token.
  explicit ReplaceDec(const json& j) : norm_(make_normalizer(j)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) norm_->normalize(t);
    return tokens;
  }

 private:
  std::unique_ptr<Normalizer> norm_;
};

class DecSequence : public Decoder {
 public:
  std::vector<std::unique_ptr<Decoder>> items;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : items) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }
};

}  // namespace

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

}  // namespace arlt::tokenizer
