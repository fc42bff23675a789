// The metrics of a run as series over steps, shared by the HTML page and the PNG, plus the axis
// and number formatting both draw with.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::report {

struct Series {
  std::string name;
  std::vector<int64_t> steps;  // ascending, each once: the steps whose line has this field
  std::vector<double> values;  // NaN where the line held null: a gap in the curve

  // Statistics over the finite values; NaN when there is none.
  double first() const;
  double last() const;
  double min() const;
  double max() const;
  size_t finite_count() const;
};

struct MetricsTable {
  std::vector<int64_t> steps;       // every step in the file, ascending, each once
  std::vector<Series> series;       // in the order the fields first appear in the file
  std::vector<std::string> all_null;  // fields that were null on every line they appear on

  const Series* find(const std::string& name) const;
};

// path is only used in error messages ("path:line: ..."). A step that appears on two lines (a run
// resumed from a checkpoint repeats the steps after it) takes its values from the later line.
MetricsTable parse_metrics(const std::string& text, const std::string& path);
MetricsTable read_metrics(const std::string& path);

// Axis range widened to round tick values (1, 2 or 5 times a power of ten).
struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  double step = 1;
};
Axis nice_axis(double lo, double hi, int target_ticks = 5, bool integer = false);

// The shortest "%g" text that names v to within a thousandth of the tick spacing.
std::string format_tick(double v, double spacing);
// Six significant digits, "-" for NaN.
std::string format_value(double v);

}  // namespace arlt::report
