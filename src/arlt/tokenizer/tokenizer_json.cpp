#include "arlt/tokenizer/tokenizer_json.h"

#include "arlt/base/error.h"

namespace arlt::tokenizer {
using nlohmann::json;

namespace {

class Sax : public nlohmann::json_sax<json> {
 public:
  explicit Sax(TokenizerJson& out) : out_(out), dom_(out.doc, false) {}

  bool null() override { return scalar([&] { return dom_.null(); }, "null"); }
  bool boolean(bool v) override { return scalar([&] { return dom_.boolean(v); }, "a boolean"); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::Vocab) return vocab_id(v);
    return scalar([&] { return dom_.number_integer(v); }, "a number");
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::Vocab) return vocab_id(static_cast<int64_t>(v));
    return scalar([&] { return dom_.number_unsigned(v); }, "a number");
  }
  bool number_float(number_float_t v, const string_t& s) override {
    return scalar([&] { return dom_.number_float(v, s); }, "a float");
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::Merges) {
      if (depth_ == mode_depth_) {  // "a b"
        const size_t sp = v.find(' ', 1);
        if (sp == std::string::npos) return bad("merges[" + std::to_string(out_.merges.size()) + "] '" + v + "' is not 'a b'");
        out_.merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
        return true;
      }
      pair_.push_back(std::move(v));  // ["a", "b"]
      return true;
    }
    return scalar([&] { return dom_.string(v); }, "a string");
  }
  bool binary(binary_t& v) override { return dom_.binary(v); }

  bool start_object(std::size_t n) override {
    const bool special = take_special("vocab");
    ++depth_;
    if (special) {
      mode_ = Mode::Vocab;
      mode_depth_ = depth_;
      out_.vocab_streamed = true;
      out_.vocab.reserve(n == std::size_t(-1) ? 1 << 16 : n);
      return true;
    }
    if (mode_ != Mode::Normal) return stop("unexpected object inside model." + std::string(mode_ == Mode::Vocab ? "vocab" : "merges"));
    path_.push_back(key_);
    return dom_.start_object(n);
  }
  bool end_object() override {
    if (mode_ == Mode::Vocab && depth_ == mode_depth_) {
      mode_ = Mode::Normal;
      --depth_;
      return true;
    }
    --depth_;
    path_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) override {
    const bool special = take_special("merges");
    ++depth_;
    if (special) {
      mode_ = Mode::Merges;
      mode_depth_ = depth_;
      out_.merges_streamed = true;
      return true;
    }
    if (mode_ == Mode::Merges && depth_ == mode_depth_ + 1) {
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::Normal) return stop("unexpected array inside model." + std::string(mode_ == Mode::Vocab ? "vocab" : "merges"));
    path_.push_back(key_);
    return dom_.start_array(n);
  }
  bool end_array() override {
    if (mode_ == Mode::Merges) {
      if (depth_ == mode_depth_ + 1) {
        if (pair_.size() != 2) return bad("merges[" + std::to_string(out_.merges.size()) + "] is not a pair [\"a\", \"b\"]");
        out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
        --depth_;
        return true;
      }
      if (depth_ == mode_depth_) {
        mode_ = Mode::Normal;
        --depth_;
        return true;
      }
    }
    --depth_;
    path_.pop_back();
    return dom_.end_array();
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::Vocab) {
      vocab_key_ = std::move(k);
      return true;
    }
    key_ = k;
    // model.vocab and model.merges: hold the key back until we see what the value is.
    if (depth_ == 2 && path_.size() == 2 && path_[1] == "model" && (k == "vocab" || k == "merges")) {
      pending_ = k;
      return true;
    }
    return dom_.key(k);
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = "not valid JSON at byte " + std::to_string(pos) + ": " + e.what();
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  enum class Mode { Normal, Vocab, Merges };

  // The value of a held-back key that is not the container we stream: give it to the tree.
  bool take_special(const char* which) {
    if (pending_.empty()) return false;
    std::string k = std::move(pending_);
    pending_.clear();
    if (k == which) return true;
    dom_.key(k);
    return false;
  }
  template <typename F>
  bool scalar(F&& f, const char* what) {
    if (mode_ == Mode::Vocab) return bad("model.vocab['" + vocab_key_ + "'] is " + what + ", not an integer id");
    if (mode_ == Mode::Merges) return bad("model.merges has " + std::string(what) + " where a merge was expected");
    if (!pending_.empty()) {
      dom_.key(pending_);
      pending_.clear();
    }
    return f();
  }
  bool vocab_id(int64_t v) {
    out_.vocab.emplace_back(std::move(vocab_key_), v);
    return true;
  }
  // A container where an entry was expected: the tree builder cannot follow, so stop here.
  bool stop(const std::string& msg) {
    bad(msg);
    return false;
  }
  bool bad(const std::string& msg) {
    if (out_.stream_error.empty()) out_.stream_error = msg;
    return true;  // keep parsing; the caller reports the first problem
  }

  TokenizerJson& out_;
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  Mode mode_ = Mode::Normal;
  int depth_ = 0, mode_depth_ = 0;
  std::vector<std::string> path_;
  std::string key_, pending_, vocab_key_, error_;
  std::vector<std::string> pair_;
};

}  // namespace

TokenizerJson parse_tokenizer_json(const std::string& text, const std::string& source) {
  TokenizerJson out;
  Sax sax(out);
  const bool ok = json::sax_parse(text, &sax);
  if (!out.stream_error.empty()) throw Error(source + ": model: " + out.stream_error);
  if (!ok) throw Error(source + ": " + (sax.error().empty() ? std::string("not valid JSON") : sax.error()));
  if (!out.stream_error.empty()) throw Error(source + ": model: " + out.stream_error);
  return out;
}

}  // namespace arlt::tokenizer
