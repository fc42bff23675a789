#include "arlt/tokenizer/stream_decoder.h"

#include "arlt/tokenizer/tokenizer.h"

namespace arlt::tokenizer {
namespace {
bool ends_incomplete(const std::string& s) { return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0; }
}  // namespace

std::string StreamDecoder::decode(size_t from, size_t to) {
  decoded_ += static_cast<int64_t>(to - from);
  return tok_.decode(std::vector<int64_t>(ids_.begin() + static_cast<std::ptrdiff_t>(from), ids_.begin() + static_cast<std::ptrdiff_t>(to)),
                     skip_special_, false, /*strict=*/false);
}

std::string StreamDecoder::push(int64_t token) {
  ids_.push_back(token);
  const std::string context = decode(prefix_, read_);
  const std::string window = decode(prefix_, ids_.size());
  if (window.size() <= context.size() || ends_incomplete(window)) return "";
  std::string delta;
  if (window.compare(0, context.size(), context) == 0) {
    delta = window.substr(context.size());
  } else {
    // The window's text does not extend its context's (a decoder that rewrites across the
    // boundary): fall back to the whole text once, against what was emitted so far.
    const std::string whole = decode(0, ids_.size());
    if (whole.compare(0, emitted_.size(), emitted_) != 0 || ends_incomplete(whole)) return "";
    delta = whole.substr(emitted_.size());
  }
  emitted_ += delta;
  prefix_ = read_;
  read_ = ids_.size();
  return delta;
}

}  // namespace arlt::tokenizer
