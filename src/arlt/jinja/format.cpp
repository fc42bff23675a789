// Python string formatting for templates: printf-style `fmt % args` (also the |format filter)
// and str.format with the common format-spec mini-language.
#include <cmath>
#include <cstdio>

#include "arlt/jinja/internal.h"

namespace arlt::jinja::detail {
namespace {

std::string c_format(const std::string& spec, int64_t v) {
  char buf[512];
  std::snprintf(buf, sizeof buf, spec.c_str(), static_cast<long long>(v));
  return buf;
}
std::string c_format(const std::string& spec, double v) {
  char buf[512];
  std::snprintf(buf, sizeof buf, spec.c_str(), v);
  return buf;
}

// Pads `text` (code points) to `width`: align '<', '>', '^', or '=' (after the sign).
std::string pad(const std::string& text, int64_t width, char align, const std::string& fill) {
  const int64_t len = static_cast<int64_t>(utf8_length(text));
  if (width <= len) return text;
  const int64_t marg = width - len;
  int64_t left = align == '<' ? 0 : align == '^' ? marg / 2 : marg;
  std::string out;
  if (align == '=' && !text.empty() && (text[0] == '-' || text[0] == '+' || text[0] == ' ')) {
    out += text[0];
    for (int64_t k = 0; k < marg; ++k) out += fill;
    return out + text.substr(1);
  }
  for (int64_t k = 0; k < left; ++k) out += fill;
  out += text;
  for (int64_t k = 0; k < marg - left; ++k) out += fill;
  return out;
}

std::string truncate_cp(const std::string& s, int64_t n) {
  if (n < 0) return s;
  std::string out;
  int64_t k = 0;
  for (auto c : utf8_chars(s)) {
    if (k++ >= n) break;
    out += c;
  }
  return out;
}

int64_t need_integer(const Value& v, char type) {
  if (v.is_int()) return v.as_int();
  fail(std::string("%") + type + " format: an integer is required, not " + type_name(v));
}
double need_real(const Value& v, char type) {
  if (v.is_number()) return v.as_double();
  fail(std::string("%") + type + " format: a real number is required, not " + type_name(v));
}

// One printf conversion. C's printf matches Python's for these, except that Python writes
// negative hex / octal as a sign and a magnitude.
std::string percent_one(char type, const std::string& flags, int64_t width, int64_t prec, const Value& arg) {
  std::string spec = "%" + flags + (width >= 0 ? std::to_string(width) : "") + (prec >= 0 ? "." + std::to_string(prec) : "");
  switch (type) {
    case 's':
    case 'r':
    case 'a': {
      const std::string text = truncate_cp(type == 's' ? to_str(arg) : repr(arg), prec);
      return pad(text, width, flags.find('-') != std::string::npos ? '<' : '>', " ");
    }
    case 'd':
    case 'i':
    case 'u': {
      if (!arg.is_number()) fail("%d format: a real number is required, not " + type_name(arg));
      const double d = arg.as_double();
      if (arg.kind == Value::Kind::Float && !std::isfinite(d)) fail("cannot convert float " + to_str(arg) + " to integer");
      const int64_t v = arg.kind == Value::Kind::Float ? static_cast<int64_t>(std::trunc(d)) : arg.as_int();
      return c_format(spec + "lld", v);
    }
    case 'x':
    case 'X':
    case 'o': {
      const int64_t v = need_integer(arg, type);
      if (v >= 0) return c_format(spec + "ll" + type, v);
      return pad("-" + c_format("%" + std::string(flags.find('#') != std::string::npos ? "#" : "") + "ll" + type, -v), width,
                 flags.find('-') != std::string::npos ? '<' : '>', " ");
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': return c_format(spec + type, need_real(arg, type));
    case 'c':
      if (arg.is_int()) {
        std::string s;
        utf8_append(s, static_cast<char32_t>(arg.as_int()));
        return pad(s, width, '>', " ");
      }
      if (arg.is_string() && utf8_length(arg.s) == 1) return pad(arg.s, width, '>', " ");
      fail("%c requires an int or a unicode character");
    default: fail(std::string("unsupported format character '") + type + "'");
  }
}

// format(value, spec) for str.format.
std::string format_spec(const Value& v, const std::string& spec) {
  if (spec.empty()) return to_str(v);
  size_t i = 0;
  std::string fill = " ";
  char align = 0;
  const auto chars = utf8_chars(spec);
  if (chars.size() >= 2 && chars[1].size() == 1 && std::string("<>=^").find(chars[1][0]) != std::string::npos) {
    fill = std::string(chars[0]);
    align = chars[1][0];
    i = chars[0].size() + 1;
  } else if (std::string("<>=^").find(spec[0]) != std::string::npos) {
    align = spec[i++];
  }
  char sign = '-';
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  bool alt = false;
  if (i < spec.size() && spec[i] == '#') alt = (++i, true);
  if (i < spec.size() && spec[i] == '0') {
    if (!align) {
      fill = "0";
      align = '=';
    }
    ++i;
  }
  int64_t width = -1, prec = -1;
  if (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
    width = 0;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) width = width * 10 + (spec[i++] - '0');
  }
  if (i < spec.size() && spec[i] == '.') {
    prec = 0;
    ++i;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) prec = prec * 10 + (spec[i++] - '0');
  }
  const char type = i < spec.size() ? spec[i++] : 0;
  if (i != spec.size()) fail("unsupported format specifier '" + spec + "'");

  std::string text;
  const std::string sign_flag = sign == '+' ? "+" : sign == ' ' ? " " : "";
  if (v.is_string() || (!v.is_number() && (type == 0 || type == 's'))) {
    if (type != 0 && type != 's') fail(std::string("unknown format code '") + type + "' for object of type 'str'");
    text = truncate_cp(to_str(v), prec);
    return pad(text, width, align ? align : '<', fill);
  }
  if (!v.is_number()) fail("unsupported format string passed to " + type_name(v) + ".__format__");
  const std::string p = prec >= 0 ? "." + std::to_string(prec) : "";
  const std::string a = alt ? "#" : "";
  switch (type) {
    case 0:
      if (v.kind == Value::Kind::Float && prec >= 0) text = c_format("%" + sign_flag + p + "g", v.f);
      else text = (sign != '-' && compare(v, Value::integer(0)) >= 0 ? sign_flag : "") + to_str(v.kind == Value::Kind::Bool ? Value::integer(v.as_int()) : v);
      break;
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'b': {
      if (!v.is_int()) fail(std::string("unknown format code '") + type + "' for object of type 'float'");
      const int64_t x = v.as_int();
      if (type == 'd') {
        text = c_format("%" + sign_flag + "lld", x);
      } else if (type == 'b') {
        std::string bits;
        for (uint64_t u = static_cast<uint64_t>(x < 0 ? -x : x); u; u >>= 1) bits.insert(bits.begin(), static_cast<char>('0' + (u & 1)));
        text = (x < 0 ? "-" : sign_flag) + (alt ? "0b" : "") + (bits.empty() ? "0" : bits);
      } else {
        text = (x < 0 ? "-" : sign_flag) + c_format("%" + a + "ll" + type, x < 0 ? -x : x);
      }
      break;
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': text = c_format("%" + sign_flag + a + (prec >= 0 ? p : type == 'g' || type == 'G' ? "" : ".6") + type, v.as_double()); break;
    case '%': text = c_format("%" + sign_flag + a + (prec >= 0 ? p : ".6") + "f", v.as_double() * 100) + "%"; break;
    default: fail(std::string("unknown format code '") + type + "' for object of type '" + type_name(v) + "'");
  }
  return pad(text, width, align ? align : '>', fill);
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args) {
  List pos;
  const Dict* mapping = nullptr;
  // Python treats any subscriptable non-tuple (dict, list) as a mapping: no "not all arguments
  // converted" check, and %(key)s looks keys up in it.
  bool mapping_like = false;
  if (args.kind == Value::Kind::Tuple) {
    pos = *args.list;
  } else {
    pos = {args};
    if (args.kind == Value::Kind::Dict) mapping = args.dict.get();
    mapping_like = args.kind == Value::Kind::Dict || args.kind == Value::Kind::List || args.is_undefined();
  }
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  auto take = [&]() -> const Value& {
    if (next >= pos.size()) fail("not enough arguments for format string");
    return pos[next++];
  };
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) fail("incomplete format");
    if (fmt[i] == '%') {
      out += '%';
      continue;
    }
    Value keyed;
    bool has_key = false;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos) fail("incomplete format key");
      if (!mapping) fail("format requires a mapping");
      const Value* v = mapping->find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (!v) fail("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
      keyed = *v;
      has_key = used_mapping = true;
      i = close + 1;
    }
    std::string flags;
    while (i < fmt.size() && std::string("-+ #0").find(fmt[i]) != std::string::npos) flags += fmt[i++];
    int64_t width = -1, prec = -1;
    auto number = [&](int64_t* dst) {
      if (i < fmt.size() && fmt[i] == '*') {
        ++i;
        *dst = take().as_int();
        return;
      }
      if (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) *dst = 0;
      while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) *dst = *dst * 10 + (fmt[i++] - '0');
    };
    number(&width);
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      prec = 0;
      number(&prec);
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) fail("incomplete format");
    out += percent_one(fmt[i], flags, width, prec, has_key ? keyed : take());
  }
  if (!used_mapping && next < pos.size() && !mapping_like) fail("not all arguments converted during string formatting");
  return out;
}

std::string str_format(const std::string& fmt, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      else fail("Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) fail("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec, conversion;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = field.substr(bang + 1);
      field.resize(bang);
    }
    // The field name: "", an index or a keyword, then .attr / [key] parts.
    size_t end = field.find_first_of(".[");
    const std::string head = field.substr(0, end);
    Value v;
    if (head.empty() || std::isdigit(static_cast<unsigned char>(head[0]))) {
      const size_t k = head.empty() ? auto_index++ : static_cast<size_t>(std::stoul(head));
      if (k >= args.pos.size()) fail("Replacement index " + std::to_string(k) + " out of range for positional args tuple");
      v = args.pos[k];
    } else {
      bool found = false;
      for (auto& kv : args.kw)
        if (kv.first == head) {
          v = kv.second;
          found = true;
        }
      if (!found) fail("KeyError: '" + head + "'");
    }
    while (end != std::string::npos && end < field.size()) {
      if (field[end] == '.') {
        const size_t next = field.find_first_of(".[", end + 1);
        v = get_attr(v, field.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1));
        end = next;
      } else {
        const size_t rb = field.find(']', end);
        if (rb == std::string::npos) fail("Missing ']' in format string");
        const std::string key = field.substr(end + 1, rb - end - 1);
        const bool numeric = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
        v = get_item(v, numeric ? Value::integer(std::stoll(key)) : Value::str(key));
        end = rb + 1 < field.size() ? rb + 1 : std::string::npos;
      }
    }
    if (conversion == "r" || conversion == "a") v = Value::str(repr(v));
    else if (conversion == "s") v = Value::str(to_str(v));
    else if (!conversion.empty()) fail("Unknown conversion specifier " + conversion);
    out += format_spec(v, spec);
  }
  return out;
}

}  // namespace arlt::jinja::detail
