#include "arlt/tokenizer/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <filesystem>
#include <thread>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/tokenizer/tokenizer_json.h"
#include "arlt/tokenizer/unicode.h"

namespace arlt::tokenizer {
using nlohmann::json;

namespace {

std::string token_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

// A "word" character for single_word: alphanumeric or underscore (Rust's char::is_alphanumeric
// approximated on ASCII plus any non-ASCII letter byte sequence).
bool is_word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

// Whether a Unicode space starts at s[i] (valid UTF-8), and its length in bytes.
bool is_space_at(std::string_view s, size_t i, size_t* len) {
  const size_t l = utf8_valid_length(s, i);
  if (!l || !is_unicode_space(utf8_decode(s.substr(i, l))[0])) return false;
  *len = l;
  return true;
}

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::from_json(const json& j, const json& config, const std::string& source) {
  return build(j, nullptr, config, source);
}

std::shared_ptr<Tokenizer> Tokenizer::from_text(const std::string& text, const json& config, const std::string& source) {
  TokenizerJson parsed = parse_tokenizer_json(text, source);
  return build(parsed.doc, &parsed, config, source);
}

std::shared_ptr<Tokenizer> Tokenizer::build(const json& j, const TokenizerJson* streamed, const json& config,
                                             const std::string& source) {
  try {
    return build_checked(j, streamed, config, source);
  } catch (const json::exception& e) {
    // A field of the wrong JSON type somewhere in tokenizer.json / tokenizer_config.json.
    throw Error(source + ": a field has the wrong type: " + e.what());
  }
}

std::shared_ptr<Tokenizer> Tokenizer::build_checked(const json& j, const TokenizerJson* streamed, const json& config,
                                             const std::string& source) {
  if (!j.is_object()) throw Error(source + ": not a JSON object");
  auto t = std::make_shared<Tokenizer>();
  try {
    if (!j.contains("model")) throw Error("tokenizer.json: missing 'model'");
    t->model_ = BPE::from_json(j["model"], streamed);
    t->normalizer_ = make_normalizer(j.value("normalizer", json()));
    t->pre_tokenizer_ = make_pre_tokenizer(j.value("pre_tokenizer", json()));
    t->post_processor_ = make_post_processor(j.value("post_processor", json()));
    t->decoder_ = make_decoder(j.value("decoder", json()));
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.rfind("tokenizer.json", 0) == 0 && source != "tokenizer.json") msg = source + msg.substr(14);
    throw Error(msg);
  }
  t->vocab_size_ = t->model_->max_id() + 1;
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      AddedToken at;
      if (!a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
        throw Error(source + ": added_tokens entry without integer 'id' and string 'content': " + a.dump());
      at.id = a["id"].get<int64_t>();
      if (at.id < 0 || at.id >= (1LL << 31))
        throw Error(source + ": added token '" + a["content"].get<std::string>() + "' has id " + std::to_string(at.id) +
                    ", outside [0, 2^31)");
      at.content = a["content"].get<std::string>();
      at.single_word = a.value("single_word", false);
      at.lstrip = a.value("lstrip", false);
      at.rstrip = a.value("rstrip", false);
      at.normalized = a.value("normalized", !a.value("special", false));
      at.special = a.value("special", false);
      if (at.content.empty()) continue;
      t->added_by_id_[at.id] = t->added_.size();
      t->added_by_content_[at.content] = at.id;
      const int pass = at.normalized ? 1 : 0;
      if (t->added_first_bytes_[pass].find(at.content[0]) == std::string::npos) t->added_first_bytes_[pass] += at.content[0];
      t->vocab_size_ = std::max(t->vocab_size_, at.id + 1);
      t->added_.push_back(std::move(at));
    }
  }
  // Longest first, so the scan below finds the leftmost-longest match.
  std::stable_sort(t->added_.begin(), t->added_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  t->added_by_id_.clear();
  for (size_t i = 0; i < t->added_.size(); ++i) t->added_by_id_[t->added_[i].id] = i;

  if (config.is_object()) {
    t->config_ = config;
    t->bos_token_ = token_string(config.value("bos_token", json()));
    t->eos_token_ = token_string(config.value("eos_token", json()));
    t->pad_token_ = token_string(config.value("pad_token", json()));
    t->clean_up_spaces_ = config.contains("clean_up_tokenization_spaces") && config["clean_up_tokenization_spaces"].is_boolean() &&
                          config["clean_up_tokenization_spaces"].get<bool>();
    // transformers' Llama / CodeLlama / Gemma fast tokenizers rebuild the post-processor from
    // add_bos_token (default true) and add_eos_token (default false).
    const std::string cls = config.contains("tokenizer_class") && config["tokenizer_class"].is_string()
                                ? config["tokenizer_class"].get<std::string>() : "";
    if (cls.rfind("LlamaTokenizer", 0) == 0 || cls.rfind("CodeLlamaTokenizer", 0) == 0 || cls.rfind("GemmaTokenizer", 0) == 0) {
      auto flag = [&](const char* k, bool def) {
        return config.contains(k) && config[k].is_boolean() ? config[k].get<bool>() : def;
      };
      const bool add_bos = flag("add_bos_token", true), add_eos = flag("add_eos_token", false);
      json single = json::array(), specials = json::object();
      auto special = [&](const std::string& tok, const char* which) {
        const int64_t id = t->token_to_id(tok);
        if (tok.empty() || id < 0)
          throw Error(source + ": tokenizer_config.json asks for " + which + " but the token '" + tok + "' is not in the vocabulary");
        single.push_back({{"SpecialToken", {{"id", tok}, {"type_id", 0}}}});
        specials[tok] = {{"id", tok}, {"ids", {id}}, {"tokens", {tok}}};
      };
      if (add_bos) special(t->bos_token_, "add_bos_token");
      single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
      if (add_eos) special(t->eos_token_, "add_eos_token");
      t->post_processor_ = make_post_processor({{"type", "TemplateProcessing"}, {"single", single}, {"special_tokens", specials}});
    }
    const json ct = config.value("chat_template", json());
    if (ct.is_string()) {
      t->chat_template_ = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{name, template}, ...]: the "default" one
      for (const auto& e : ct)
        if (e.value("name", "") == "default") t->chat_template_ = e.value("template", "");
      if (t->chat_template_.empty() && !ct.empty()) t->chat_template_ = ct[0].value("template", "");
    }
  }
  return t;
}

std::shared_ptr<Tokenizer> Tokenizer::from_file(const std::string& path) {
  return from_text(read_file(path), nullptr, path);
}

std::shared_ptr<Tokenizer> Tokenizer::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path tj = fs::path(dir) / "tokenizer.json";
  if (!fs::exists(tj)) throw Error(dir + ": no tokenizer.json in this folder");
  const fs::path cj = fs::path(dir) / "tokenizer_config.json";
  json config = fs::exists(cj) ? read_json_file(cj.string()) : json();
  const fs::path jinja = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(jinja)) {  // newer transformers keep the template in its own file
    if (!config.is_object()) config = json::object();
    config["chat_template"] = read_file(jinja.string());
  }
  return from_text(read_file(tj.string()), config, tj.string());
}

void Tokenizer::split_added(std::vector<Segment>& segs, bool normalized_pass) const {
  const std::string& firsts = added_first_bytes_[normalized_pass ? 1 : 0];
  if (firsts.empty()) return;
  std::vector<Segment> out;
  for (auto& seg : segs) {
    if (seg.token >= 0) {
      out.push_back(std::move(seg));
      continue;
    }
    const std::string& s = seg.text;
    size_t start_offset = 0, pos = 0;
    while ((pos = s.find_first_of(firsts, pos)) != std::string::npos) {
      const AddedToken* hit = nullptr;
      for (const auto& a : added_) {  // longest first
        if (a.normalized != normalized_pass || s.compare(pos, a.content.size(), a.content) != 0) continue;
        if (a.single_word) {
          const bool left_ok = pos == 0 || !is_word_byte(static_cast<unsigned char>(s[pos - 1]));
          const size_t e = pos + a.content.size();
          const bool right_ok = e == s.size() || !is_word_byte(static_cast<unsigned char>(s[e]));
          if (!left_ok || !right_ok) continue;
        }
        hit = &a;
        break;
      }
      if (!hit) {
        ++pos;
        continue;
      }
      size_t b = pos, e = pos + hit->content.size();
      if (hit->lstrip) {
        // Swallow the whitespace before the token (not what an earlier match already took).
        size_t nb = b;
        while (nb > start_offset) {
          size_t k = nb - 1;
          while (k > start_offset && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
          size_t len;
          if (is_space_at(s, k, &len) && k + len == nb) nb = k;
          else break;
        }
        b = nb;
      }
      if (hit->rstrip) {
        size_t len;
        while (e < s.size() && is_space_at(s, e, &len)) e += len;
      }
      if (b > start_offset) out.push_back({s.substr(start_offset, b - start_offset), -1, seg.at_start && start_offset == 0});
      out.push_back({s.substr(b, e - b), hit->id, false});
      start_offset = pos = e;
    }
    if (start_offset < s.size()) out.push_back({s.substr(start_offset), -1, seg.at_start && start_offset == 0});
  }
  segs.swap(out);
}

void Tokenizer::encode_text(const Segment& seg, std::vector<int64_t>& out) const {
  std::vector<Piece> pieces{{seg.text, seg.at_start}};
  if (pre_tokenizer_) pre_tokenizer_->split(pieces);
  for (const auto& p : pieces) model_->tokenize(p.text, out);
}

std::vector<int64_t> Tokenizer::encode(std::string_view raw, bool add_special_tokens) const {
  std::string text = is_valid_utf8(raw) ? std::string(raw) : utf8_lossy(raw);
  std::vector<Segment> segs{{std::move(text), -1, true}};
  split_added(segs, false);
  if (normalizer_) {
    for (auto& s : segs)
      if (s.token < 0) normalizer_->normalize(s.text);
  }
  split_added(segs, true);
  std::vector<int64_t> ids;
  for (const auto& s : segs) {
    if (s.token >= 0) ids.push_back(s.token);
    else if (!s.text.empty()) encode_text(s, ids);
  }
  if (add_special_tokens && post_processor_) ids = post_processor_->process(std::move(ids));
  return ids;
}

std::vector<std::vector<int64_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts, bool add_special_tokens,
                                                          int threads) const {
  std::vector<std::vector<int64_t>> out(texts.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(threads, std::max<size_t>(1, texts.size())));
  if (threads == 1) {
    for (size_t i = 0; i < texts.size(); ++i) out[i] = encode(texts[i], add_special_tokens);
    return out;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::mutex error_mu;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      try {
        for (size_t i; (i = next.fetch_add(1)) < texts.size();) out[i] = encode(texts[i], add_special_tokens);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens, std::optional<bool> clean_up,
                              bool strict) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    auto it = added_by_id_.find(id);
    if (it != added_by_id_.end()) {
      if (!(skip_special_tokens && added_[it->second].special)) tokens.push_back(added_[it->second].content);
      continue;
    }
    const std::string* tok = model_->id_to_token(id);
    if (!tok && !strict) continue;
    if (!tok)
      throw Error("decode: token id " + std::to_string(id) + " is not in the vocabulary (size " +
                  std::to_string(vocab_size_) + ")");
    tokens.push_back(*tok);
  }
  std::string text;
  if (decoder_) {
    for (auto& s : decoder_->decode_chain(std::move(tokens))) text += s;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  if (clean_up.value_or(clean_up_spaces_)) text = clean_up_tokenization(std::move(text));
  return text;
}

int64_t Tokenizer::token_to_id(std::string_view token) const {
  if (token.empty()) return -1;
  auto it = added_by_content_.find(std::string(token));
  if (it != added_by_content_.end()) return it->second;
  return model_->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int64_t id) const {
  auto it = added_by_id_.find(id);
  if (it != added_by_id_.end()) return added_[it->second].content;
  const std::string* t = model_->id_to_token(id);
  if (t) return *t;
  return std::nullopt;
}

bool Tokenizer::is_special(int64_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && added_[it->second].special;
}

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    std::string out;
    const std::string f = from;
    size_t i = 0;
    for (size_t p; (p = text.find(f, i)) != std::string::npos; i = p + f.size()) {
      out.append(text, i, p - i);
      out += to;
    }
    out.append(text, i, std::string::npos);
    text.swap(out);
  }
  return text;
}

json byte_tokenizer_json(const std::vector<std::string>& special_tokens) {
  json vocab = json::object();
  const auto& map = byte_to_unicode();
  for (int b = 0; b < 256; ++b) vocab[map[b]] = b;
  json added = json::array();
  int64_t id = 256;
  for (const auto& s : special_tokens) {
    vocab[s] = id;
    added.push_back({{"id", id}, {"content", s}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
    ++id;
  }
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
          {"normalizer", nullptr}, {"pre_tokenizer", bl}, {"post_processor", bl}, {"decoder", bl},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                     {"ignore_merges", false}, {"vocab", vocab}, {"merges", json::array()}}}};
}

}  // namespace arlt::tokenizer
