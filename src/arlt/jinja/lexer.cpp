// Jinja lexer: splits a template into text and tag tokens and applies whitespace control
// exactly as jinja2.lexer does with trim_blocks=True and lstrip_blocks=True, because a single
// misplaced newline changes the prompt tokens and so what a model was trained on.
#include <algorithm>
#include <cstring>

#include "arlt/base/error.h"
#include "arlt/jinja/internal.h"

namespace arlt::jinja::detail {

void throw_at(const std::string& name, Pos pos, const std::string& message) {
  throw Error(name + ": line " + std::to_string(pos.line) + ", column " + std::to_string(pos.col) +
              ": " + message);
}

namespace {

// jinja2 3.x normalises "\r\n" and "\r" to "\n" and, with keep_trailing_newline=False, drops
// one final newline of the source.
std::string normalize_newlines(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_name_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool is_name_char(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& name)
      : src_(normalize_newlines(source)), name_(name) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    const size_t n = src_.size();
    size_t pos = 0;
    // jinja2 lstrips a tag's line only when the text before it starts a line: after a newline
    // inside that text, at the start of the source, or after a tag whose end ate a newline.
    bool line_starting = true;
    while (pos < n) {
      const size_t m = find_tag_start(pos);
      if (m == std::string::npos) {
        emit_text(pos, n);
        break;
      }
      const char kind = src_[m + 1];  // '{', '%' or '#'
      const char sign = (m + 2 < n && (src_[m + 2] == '-' || src_[m + 2] == '+')) ? src_[m + 2] : 0;
      size_t p = m + 2 + (sign ? 1 : 0);
      size_t raw_end = 0;
      const bool raw = kind == '%' && match_raw_begin(p, &raw_end);
      emit_text(pos, strip_before_tag(pos, m, sign, kind != '{', line_starting));

      if (kind == '#') {
        const size_t e = src_.find("#}", p);
        if (e == std::string::npos) throw_at(name_, pos_at(m), "unclosed comment: missing '#}'");
        const char esign = (e > p && (src_[e - 1] == '-' || src_[e - 1] == '+')) ? src_[e - 1] : 0;
        pos = after_tag_end(e + 2, esign, /*trim=*/true, &line_starting);
        continue;
      }
      if (raw) {
        pos = lex_raw(m, raw_end, &line_starting);
        continue;
      }
      const bool block = kind == '%';
      tokens_.push_back({block ? Tok::BlockBegin : Tok::VarBegin, {}, 0, 0, pos_at(m)});
      pos = lex_tag(m, p, block, &line_starting);
    }
    tokens_.push_back({Tok::Eof, {}, 0, 0, pos_at(n)});
    return std::move(tokens_);
  }

 private:
  // Line and column (in code points) of a byte offset. Offsets mostly grow, so walk on from
  // the previous answer instead of from the line start: single-line templates are common.
  Pos pos_at(size_t off) const {
    if (off < cache_off_) {
      auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
      cache_off_ = line_starts_[static_cast<size_t>(it - line_starts_.begin()) - 1];
      cache_pos_ = {static_cast<int>(it - line_starts_.begin()), 1};
    }
    for (; cache_off_ < off && cache_off_ < src_.size(); ++cache_off_) {
      if (src_[cache_off_] == '\n') cache_pos_ = {cache_pos_.line + 1, 1};
      else if ((static_cast<unsigned char>(src_[cache_off_]) & 0xC0) != 0x80) ++cache_pos_.col;
    }
    return cache_pos_;
  }

  size_t find_tag_start(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1))
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    return std::string::npos;
  }

  void emit_text(size_t begin, size_t end) {
    if (end > begin) tokens_.push_back({Tok::Text, src_.substr(begin, end - begin), 0, 0, pos_at(begin)});
  }

  // Offset just past the last non-whitespace character of src_[begin, end) (Python's rstrip()).
  size_t rstrip_end(size_t begin, size_t end) const {
    size_t keep = begin;
    for (size_t i = begin; i < end;) {
      const char32_t cp = utf8_decode_at(src_, i);
      if (!is_py_space(cp)) keep = i;
    }
    return keep;
  }

  size_t skip_space(size_t p) const {
    while (p < src_.size()) {
      size_t q = p;
      if (!is_py_space(utf8_decode_at(src_, q))) break;
      p = q;
    }
    return p;
  }

  // Where the text before a tag at m ends: "-" strips all whitespace; lstrip_blocks strips
  // the spaces and tabs that alone precede a block or comment tag on its line.
  size_t strip_before_tag(size_t begin, size_t m, char sign, bool lstrip_applies, bool line_starting) const {
    if (sign == '-') return rstrip_end(begin, m);
    if (sign == '+' || !lstrip_applies) return m;
    size_t l_pos = begin;
    bool found_newline = false;
    for (size_t i = m; i > begin; --i)
      if (src_[i - 1] == '\n') {
        l_pos = i;
        found_newline = true;
        break;
      }
    if (!found_newline && !line_starting) return m;
    for (size_t i = l_pos; i < m; ++i)
      if (src_[i] != ' ' && src_[i] != '\t') return m;
    return l_pos;
  }

  // After a tag's closing delimiter at `end`: "-" eats all whitespace, "+" nothing, and
  // trim_blocks one newline (for block and comment tags only).
  size_t after_tag_end(size_t end, char sign, bool trim, bool* line_starting) const {
    size_t p = end;
    if (sign == '-') p = skip_space(end);
    else if (sign != '+' && trim && p < src_.size() && src_[p] == '\n') ++p;
    *line_starting = p > 0 && src_[p - 1] == '\n';
    return p;
  }

  // `{% raw %}` (already past "{%" and its sign at p): sets *end past "%}".
  bool match_raw_begin(size_t p, size_t* end) const {
    p = skip_space(p);
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p = skip_space(p + 3);
    if (src_.compare(p, 3, "-%}") == 0) *end = skip_space(p + 3);
    else if (src_.compare(p, 2, "%}") == 0) *end = p + 2;  // jinja2 does not trim after raw
    else return false;
    return true;
  }

  size_t lex_raw(size_t m, size_t body, bool* line_starting) {
    *line_starting = body > 0 && src_[body - 1] == '\n';
    for (size_t k = src_.find("{%", body); k != std::string::npos; k = src_.find("{%", k + 1)) {
      const char sign = (k + 2 < src_.size() && (src_[k + 2] == '-' || src_[k + 2] == '+')) ? src_[k + 2] : 0;
      size_t p = skip_space(k + 2 + (sign ? 1 : 0));
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p = skip_space(p + 6);
      char esign = 0;
      if (src_.compare(p, 3, "-%}") == 0 || src_.compare(p, 3, "+%}") == 0) esign = src_[p++];
      else if (src_.compare(p, 2, "%}") != 0) continue;
      emit_text(body, strip_before_tag(body, k, sign, true, *line_starting));
      return after_tag_end(p + 2, esign, true, line_starting);
    }
    throw_at(name_, pos_at(m), "unclosed '{% raw %}': missing '{% endraw %}'");
  }

  // Expression tokens of one tag, from p to its end delimiter; returns the offset after it.
  size_t lex_tag(size_t m, size_t p, bool block, bool* line_starting) {
    std::string brackets;  // end delimiters count only outside brackets, as in jinja2
    const size_t n = src_.size();
    for (;;) {
      p = skip_space(p);
      if (p >= n)
        throw_at(name_, pos_at(m), std::string("unclosed tag: missing '") + (block ? "%}" : "}}") + "'");
      if (brackets.empty()) {
        const char* close = block ? "%}" : "}}";
        if (src_.compare(p, 2, close) == 0 || (src_[p] == '-' && src_.compare(p + 1, 2, close) == 0) ||
            (block && src_[p] == '+' && src_.compare(p + 1, 2, close) == 0)) {
          const char sign = src_[p] == '-' || src_[p] == '+' ? src_[p] : 0;
          const size_t end = p + (sign ? 1 : 0) + 2;
          tokens_.push_back({block ? Tok::BlockEnd : Tok::VarEnd, {}, 0, 0, pos_at(p)});
          return after_tag_end(end, sign, /*trim=*/block, line_starting);
        }
      }
      p = lex_token(p, &brackets);
    }
  }

  size_t lex_token(size_t p, std::string* brackets) {
    const Pos at = pos_at(p);
    const unsigned char c = src_[p];
    if (std::isdigit(c)) return lex_number(p, at);
    if (is_name_start(c)) {
      size_t e = p;
      while (e < src_.size() && is_name_char(src_[e])) ++e;
      tokens_.push_back({Tok::Name, src_.substr(p, e - p), 0, 0, at});
      return e;
    }
    if (c == '\'' || c == '"') return lex_string(p, at);
    static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
                                       "<",  ">",  "=",  ".",  ",",  ":",  "|", "(", ")", "[", "]", "{",
                                       "}",  ";"};
    for (const char* op : kOps) {
      const size_t len = std::strlen(op);
      if (src_.compare(p, len, op) != 0) continue;
      if (len == 1 && std::strchr("([{", c)) brackets->push_back(c);
      if (len == 1 && std::strchr(")]}", c)) {
        const char open = c == ')' ? '(' : c == ']' ? '[' : '{';
        if (brackets->empty() || brackets->back() != open)
          throw_at(name_, at, std::string("unexpected '") + static_cast<char>(c) + "'");
        brackets->pop_back();
      }
      tokens_.push_back({Tok::Op, op, 0, 0, at});
      return p + len;
    }
    throw_at(name_, at, std::string("unexpected character '") + static_cast<char>(c) + "'");
  }

  size_t lex_number(size_t p, Pos at) {
    const size_t n = src_.size();
    auto digits = [&](size_t q, auto pred) {
      while (q < n && (pred(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
      return q;
    };
    auto strip_underscores = [](std::string s) {
      s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
      return s;
    };
    if (src_[p] == '0' && p + 1 < n && std::strchr("bBoOxX", src_[p + 1])) {
      const char b = static_cast<char>(std::tolower(src_[p + 1]));
      const int base = b == 'b' ? 2 : b == 'o' ? 8 : 16;
      const size_t e = digits(p + 2, [](unsigned char ch) { return std::isxdigit(ch) != 0; });
      const std::string text = strip_underscores(src_.substr(p + 2, e - p - 2));
      if (text.empty()) throw_at(name_, at, "invalid number literal");
      tokens_.push_back({Tok::Int, src_.substr(p, e - p), static_cast<int64_t>(std::stoull(text, nullptr, base)), 0, at});
      return e;
    }
    auto is_digit = [](unsigned char ch) { return std::isdigit(ch) != 0; };
    size_t e = digits(p, is_digit);
    bool is_float = false;
    // "x.0.1" is two item lookups in jinja2 (the float rule does not match right after a dot).
    const bool after_dot = p > 0 && src_[p - 1] == '.';
    if (!after_dot && e + 1 < n && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      e = digits(e + 1, is_digit);
      is_float = true;
    }
    if (!after_dot && e < n && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t q = e + 1;
      if (q < n && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < n && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        e = digits(q, is_digit);
        is_float = true;
      }
    }
    const std::string text = strip_underscores(src_.substr(p, e - p));
    Token t{is_float ? Tok::Float : Tok::Int, src_.substr(p, e - p), 0, 0, at};
    try {
      if (is_float) t.fval = std::stod(text);
      else t.ival = std::stoll(text);
    } catch (const std::exception&) {
      throw_at(name_, at, "number literal out of range: " + text);
    }
    tokens_.push_back(std::move(t));
    return e;
  }

  // Python string escapes, as jinja2 decodes literals with "unicode-escape".
  size_t lex_string(size_t p, Pos at) {
    const char quote = src_[p];
    std::string out;
    size_t i = p + 1;
    const size_t n = src_.size();
    for (;;) {
      if (i >= n) throw_at(name_, at, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= n) throw_at(name_, at, "unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < len; ++k) {
            const int h = i + k < n ? hex_value(src_[i + k]) : -1;
            if (h < 0) throw_at(name_, at, std::string("invalid \\") + e + " escape in string literal");
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp > 0x10FFFF) throw_at(name_, at, "invalid \\U escape in string literal");
          utf8_append(out, cp);
          i += len;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {  // up to three octal digits
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < n && src_[i] >= '0' && src_[i] <= '7'; ++k) cp = cp * 8 + (src_[i++] - '0');
            utf8_append(out, cp);
          } else {  // unknown escapes stay as written
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back({Tok::String, std::move(out), 0, 0, at});
    return i + 1;
  }

  std::string src_;
  const std::string& name_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  mutable size_t cache_off_ = 0;
  mutable Pos cache_pos_;
};

}  // namespace

std::vector<Token> lex(const std::string& source, const std::string& name) { return Lexer(source, name).run(); }

}  // namespace arlt::jinja::detail
