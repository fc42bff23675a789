// tokenizer.json's post-processors: TemplateProcessing, ByteLevel, Bert/Roberta, Sequence.
#include "arlt/tokenizer/components.h"

#include <algorithm>

#include "arlt/tokenizer/component_fields.h"

namespace arlt::tokenizer {
using namespace detail;

namespace {

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

}  // namespace

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
