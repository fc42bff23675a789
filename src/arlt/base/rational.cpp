#include "arlt/base/rational.h"

namespace arlt {
namespace {

// Values stay within ±2^120 so that a cross product of two of them is detected as an
// overflow instead of wrapping: an expression that leaves the range scores 0.
constexpr i128 kLimit = static_cast<i128>(1) << 120;


i128 abs128(i128 x) { return x < 0 ? -x : x; }

i128 gcd128(i128 a, i128 b) {
  a = abs128(a);
  b = abs128(b);
  while (b != 0) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace

bool make_rational(i128 num, i128 den, Rational* out) {
  if (den == 0) return false;
  if (abs128(num) > kLimit * 2 || abs128(den) > kLimit * 2) return false;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  i128 g = gcd128(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  if (abs128(num) > kLimit || den > kLimit) return false;
  *out = Rational{num, den};
  return true;
}

namespace {
bool mul_i(i128 a, i128 b, i128* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace

bool apply(Rational a, Rational b, char op, Rational* out) {
  i128 x, y, z;
  switch (op) {
    case '+':
    case '-':
      if (!mul_i(a.num, b.den, &x) || !mul_i(b.num, a.den, &y) || !mul_i(a.den, b.den, &z)) return false;
      if (op == '-') y = -y;
      if (__builtin_add_overflow(x, y, &x)) return false;
      return make_rational(x, z, out);
    case '*':
      if (!mul_i(a.num, b.num, &x) || !mul_i(a.den, b.den, &z)) return false;
      return make_rational(x, z, out);
    case '/':
      if (b.num == 0) return false;
      if (!mul_i(a.num, b.den, &x) || !mul_i(a.den, b.num, &z)) return false;
      return make_rational(x, z, out);
  }
  return false;
}

}  // namespace arlt
