#include "arlt/report/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"

namespace arlt::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t step_of(const nlohmann::ordered_json& line, const std::string& where) {
  auto it = line.find("step");
  if (it == line.end()) throw Error(where + ": no \"step\" field (each line of metrics.jsonl is one step)");
  if (it->is_number_integer()) return it->get<int64_t>();
  // A float that holds an integer (3.0) is what some writers make of an int; accept it.
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  throw Error(where + ": \"step\" is " + it->dump() + ", expected an integer");
}

}  // namespace

double Series::first() const {
  for (double v : values)
    if (std::isfinite(v)) return v;
  return kNaN;
}

double Series::last() const {
  for (auto it = values.rbegin(); it != values.rend(); ++it)
    if (std::isfinite(*it)) return *it;
  return kNaN;
}

double Series::min() const {
  double m = kNaN;
  for (double v : values)
    if (std::isfinite(v) && !(v >= m)) m = v;
  return m;
}

double Series::max() const {
  double m = kNaN;
  for (double v : values)
    if (std::isfinite(v) && !(v <= m)) m = v;
  return m;
}

size_t Series::finite_count() const {
  return static_cast<size_t>(std::count_if(values.begin(), values.end(), [](double v) { return std::isfinite(v); }));
}

const Series* MetricsTable::find(const std::string& name) const {
  for (const auto& s : series)
    if (s.name == name) return &s;
  return nullptr;
}

MetricsTable parse_metrics(const std::string& text, const std::string& path) {
  // Per field: step -> value (NaN for null), and whether any value was a number.
  std::vector<std::string> order;
  std::map<std::string, std::map<int64_t, double>> points;
  std::map<std::string, bool> numeric;
  std::map<int64_t, bool> steps;

  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool terminated = end != std::string::npos;
    if (!terminated) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    nlohmann::ordered_json j;  // keeps the trainer's field order, which orders the page
    try {
      j = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::ordered_json::parse_error& e) {
      // The trainer may be half-way through appending the last line while we read.
      if (!terminated) break;
      throw Error(where + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw Error(where + ": expected a JSON object, found " + std::string(j.type_name()));
    const int64_t step = step_of(j, where);
    steps[step] = true;
    for (const auto& [key, value] : j.items()) {
      if (key == "step") continue;
      double v;
      if (value.is_null()) {
        v = kNaN;
      } else if (value.is_number()) {  // booleans and strings are not metrics
        v = value.get<double>();
        if (!std::isfinite(v)) v = kNaN;
        else numeric[key] = true;
      } else {
        continue;
      }
      auto [it, inserted] = points.try_emplace(key);
      if (inserted) order.push_back(key);
      it->second[step] = v;
    }
  }

  MetricsTable table;
  for (const auto& [s, unused] : steps) table.steps.push_back(s);
  for (const auto& name : order) {
    if (!numeric[name]) {
      table.all_null.push_back(name);
      continue;
    }
    Series s;
    s.name = name;
    for (const auto& [step, v] : points[name]) {
      s.steps.push_back(step);
      s.values.push_back(v);
    }
    table.series.push_back(std::move(s));
  }
  if (table.series.empty())
    throw Error(path + ": no numeric metric on any of its " + std::to_string(table.steps.size()) +
                " step lines (expected lines such as {\"step\": 1, \"reward/mean\": 0.5})");
  return table;
}

MetricsTable read_metrics(const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    throw Error(path + ": not found (a training run writes metrics.jsonl into its run folder)");
  return parse_metrics(read_file(path), path);
}

Axis nice_axis(double lo, double hi, int target_ticks, bool integer) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= std::fabs(hi) * 1e-12) {  // a flat line still needs a visible range
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw * 0.999) {
      step = m * mag;
      break;
    }
  if (integer) step = std::max(1.0, std::round(step));
  Axis a;
  a.step = step;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  a.lo = first * step;
  a.hi = last * step;
  for (double k = first; k <= last + 0.5; k += 1) {
    double t = k * step;
    if (std::fabs(t) < step * 1e-9) t = 0;  // -0 and 1e-17 are both "0"
    a.ticks.push_back(t);
  }
  return a;
}

std::string format_tick(double v, double spacing) {
  if (v == 0) return "0";
  char buf[32];
  // Enough digits for the integer part, so that 1500 stays "1500" and not "1.5e+03".
  const int int_digits = std::fabs(v) >= 1 ? static_cast<int>(std::floor(std::log10(std::fabs(v)))) + 1 : 1;
  for (int p = std::min(int_digits, 6); p <= 12; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::fabs(std::strtod(buf, nullptr) - v) <= std::fabs(spacing) * 1e-3) break;
  }
  return buf;
}

std::string format_value(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace arlt::report
