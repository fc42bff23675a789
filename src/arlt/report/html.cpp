#include "arlt/report/html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace arlt::report {
namespace {

constexpr int kW = 380, kH = 190, kLeft = 54, kRight = 12, kTop = 26, kBottom = 24;

const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1240px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
p.meta{color:#555;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #eee} th:first-child,td:first-child{text-align:left}
th{background:#f5f5f5} td{font-variant-numeric:tabular-nums}
.plots{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;border:1px solid #e3e3e3;border-radius:4px;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:#444} svg text.name{font-weight:600;font-size:12px;fill:#222}
.grid{stroke:#eee;stroke-width:1} .axis{stroke:#999;stroke-width:1}
.curve{fill:none;stroke:#1f77b4;stroke-width:1.6;stroke-linejoin:round} .dot{fill:#1f77b4}
)";

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string group_of(const std::string& name) {
  const size_t slash = name.find('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

// Runs of finite points between nulls, as pixel coordinates.
using Run = std::vector<std::pair<double, double>>;

// Keeps, per pixel column, the first, lowest, highest and last point, in step order.
Run thin(const Run& run) {
  Run out;
  size_t start = 0;
  while (start < run.size()) {
    size_t end = start;
    size_t lo = start, hi = start;
    while (end < run.size() && std::floor(run[end].first) == std::floor(run[start].first)) {
      if (run[end].second < run[lo].second) lo = end;
      if (run[end].second > run[hi].second) hi = end;
      ++end;
    }
    std::vector<size_t> keep = {start, lo, hi, end - 1};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (size_t k : keep) out.push_back(run[k]);
    start = end;
  }
  return out;
}

std::string svg_plot(const Series& s, const Axis& x) {
  const Axis y = nice_axis(s.min(), s.max(), 4);
  const double w = kW - kLeft - kRight, h = kH - kTop - kBottom;
  auto px = [&](double step) { return kLeft + (step - x.lo) / (x.hi - x.lo) * w; };
  auto py = [&](double v) { return kTop + h - (v - y.lo) / (y.hi - y.lo) * h; };
  const std::string name = escape(s.name);

  std::string o = "<figure><svg class=\"plot\" data-metric=\"" + name + "\" width=\"" + std::to_string(kW) +
                  "\" height=\"" + std::to_string(kH) + "\" viewBox=\"0 0 " + std::to_string(kW) + " " +
                  std::to_string(kH) + "\" role=\"img\" aria-label=\"" + name + "\">\n";
  o += "<text class=\"name\" x=\"" + std::to_string(kLeft) + "\" y=\"16\">" + name + "</text>";
  o += "<text x=\"" + std::to_string(kW - kRight) + "\" y=\"16\" text-anchor=\"end\">last " +
       escape(format_value(s.last())) + "</text>\n";
  for (double t : y.ticks) {
    o += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kW - kRight) + "\" y1=\"" + num(py(t)) +
         "\" y2=\"" + num(py(t)) + "\"/>";
    o += "<text x=\"" + num(kLeft - 5) + "\" y=\"" + num(py(t) + 4) + "\" text-anchor=\"end\">" +
         escape(format_tick(t, y.step)) + "</text>\n";
  }
  for (double t : x.ticks)
    o += "<text x=\"" + num(px(t)) + "\" y=\"" + num(kH - 8) + "\" text-anchor=\"middle\">" +
         escape(format_tick(t, x.step)) + "</text>";
  o += "\n<line class=\"axis\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" y2=\"" +
       num(kTop + h) + "\"/><line class=\"axis\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kW - kRight) + "\" y1=\"" +
       num(kTop + h) + "\" y2=\"" + num(kTop + h) + "\"/>\n";

  std::vector<Run> runs(1);
  for (size_t i = 0; i < s.values.size(); ++i) {
    if (!std::isfinite(s.values[i])) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    runs.back().emplace_back(px(static_cast<double>(s.steps[i])), py(s.values[i]));
  }
  const bool exact = s.finite_count() <= kMaxExactPoints;
  for (const auto& run : runs) {
    if (run.empty()) continue;
    const Run pts = exact ? run : thin(run);
    o += "<polyline class=\"curve\" points=\"";
    for (size_t i = 0; i < pts.size(); ++i) o += (i ? " " : "") + num(pts[i].first) + "," + num(pts[i].second);
    o += "\"/>\n";
    // A point between two gaps draws no line; a dot shows it.
    if (pts.size() == 1)
      o += "<circle class=\"dot\" cx=\"" + num(pts[0].first) + "\" cy=\"" + num(pts[0].second) + "\" r=\"2.5\"/>\n";
  }
  return o + "</svg></figure>\n";
}

}  // namespace

std::string render_html(const MetricsTable& table, const std::string& run_name) {
  // Groups in order of first appearance; metrics without a '/' share the "general" group.
  std::vector<std::string> groups;
  std::map<std::string, std::vector<const Series*>> by_group;
  for (const auto& s : table.series) {
    const std::string g = group_of(s.name);
    if (!by_group.count(g)) groups.push_back(g);
    by_group[g].push_back(&s);
  }

  const std::string title = "arlt report: " + escape(run_name);
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + title +
                  "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" + title + "</h1>\n";
  o += "<p class=\"meta\">" + std::to_string(table.series.size()) + " metrics over " +
       std::to_string(table.steps.size()) + " steps (step " + std::to_string(table.steps.front()) + " to " +
       std::to_string(table.steps.back()) + "). Reward curve: reward.png in the same folder.</p>\n";
  if (!table.all_null.empty()) {
    o += "<p class=\"meta\">Null on every line (NaN or inf in the trainer):";
    for (const auto& n : table.all_null) o += " " + escape(n);
    o += "</p>\n";
  }

  o += "<h2>Summary</h2>\n<table>\n<tr><th>metric</th><th>steps</th><th>first</th><th>last</th><th>min</th><th>max</th></tr>\n";
  for (const auto& g : groups)
    for (const Series* s : by_group[g])
      o += "<tr><td>" + escape(s->name) + "</td><td>" + std::to_string(s->finite_count()) + "</td><td>" +
           format_value(s->first()) + "</td><td>" + format_value(s->last()) + "</td><td>" + format_value(s->min()) +
           "</td><td>" + format_value(s->max()) + "</td></tr>\n";
  o += "</table>\n";

  // One x axis for every plot, so that the same step sits at the same place in each.
  const Axis x = nice_axis(static_cast<double>(table.steps.front()), static_cast<double>(table.steps.back()), 6, true);
  for (const auto& g : groups) {
    o += "<h2>" + (g.empty() ? std::string("general") : escape(g)) + "</h2>\n<div class=\"plots\">\n";
    for (const Series* s : by_group[g]) o += svg_plot(*s, x);
    o += "</div>\n";
  }
  return o + "</body>\n</html>\n";
}

}  // namespace arlt::report
