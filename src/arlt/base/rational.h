// Exact rational arithmetic on 128-bit integers, for verifiers that must not let float rounding
// turn a wrong answer into a right one (countdown's expressions), the task generator that solves
// them, and the calculator tool. Values stay within +-2^120, so an overflow is detected, never wrapped.
#pragma once
#include <cstdint>

namespace arlt {

using i128 = __int128;

struct Rational {
  i128 num = 0;
  i128 den = 1;
  bool operator==(const Rational& o) const { return num == o.num && den == o.den; }
  bool operator<(const Rational& o) const { return num != o.num ? num < o.num : den < o.den; }
};

// num/den in lowest terms with a positive denominator; false for den 0 or out of range.
bool make_rational(i128 num, i128 den, Rational* out);

// a op b for op in + - * /; false on overflow or division by zero.
bool apply(Rational a, Rational b, char op, Rational* out);

}  // namespace arlt
