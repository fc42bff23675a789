#include "arlt/report/curve_png.h"

#include <algorithm>
#include <cmath>

namespace arlt::report {
namespace {

constexpr Rgb kWhite{255, 255, 255}, kGrid{232, 232, 232}, kAxis{90, 90, 90}, kText{30, 30, 30};

int scale_for(int width) { return width >= 600 ? 2 : 1; }

// Maps data to pixels; y grows downwards in the image.
struct Frame {
  PlotRect r;
  Axis x, y;
  int px(double step) const { return r.left + static_cast<int>(std::lround((step - x.lo) / (x.hi - x.lo) * (r.right - 1 - r.left))); }
  int py(double v, const Axis& a) const {
    return r.bottom - 1 - static_cast<int>(std::lround((v - a.lo) / (a.hi - a.lo) * (r.bottom - 1 - r.top)));
  }
};

double value_at(const Series& s, int64_t step) {
  auto it = std::lower_bound(s.steps.begin(), s.steps.end(), step);
  if (it == s.steps.end() || *it != step) return NAN;
  return s.values[it - s.steps.begin()];
}

// Consecutive finite points are joined; a null breaks the line, a point alone gets a square.
void draw_series(Canvas& c, const Frame& f, const Series& s, const Axis& a, Rgb color, bool markers) {
  const int t = scale_for(c.width());
  for (size_t i = 0; i < s.values.size(); ++i) {
    if (!std::isfinite(s.values[i])) continue;
    const int x = f.px(static_cast<double>(s.steps[i])), y = f.py(s.values[i], a);
    const bool prev = i > 0 && std::isfinite(s.values[i - 1]);
    const bool next = i + 1 < s.values.size() && std::isfinite(s.values[i + 1]);
    if (prev) c.line(f.px(static_cast<double>(s.steps[i - 1])), f.py(s.values[i - 1], a), x, y, color, t);
    if (markers || (!prev && !next)) c.fill_rect(x - 2 * t, y - 2 * t, x + 2 * t, y + 2 * t, color);
  }
}

void draw_band(Canvas& c, const Frame& f, const Series& lo, const Series& hi) {
  struct P {
    int x, ylo, yhi;
  };
  std::vector<P> run;  // points since the last gap
  auto flush = [&] {
    if (run.size() == 1) c.fill_rect(run[0].x - 1, run[0].yhi, run[0].x + 2, run[0].ylo + 1, kBandColor);
    for (size_t i = 1; i < run.size(); ++i) {
      const P &a = run[i - 1], &b = run[i];
      for (int x = a.x; x <= b.x; ++x) {
        const double u = b.x == a.x ? 1.0 : double(x - a.x) / (b.x - a.x);
        const int ylo = static_cast<int>(std::lround(a.ylo + u * (b.ylo - a.ylo)));
        const int yhi = static_cast<int>(std::lround(a.yhi + u * (b.yhi - a.yhi)));
        c.fill_rect(x, std::min(ylo, yhi), x + 1, std::max(ylo, yhi) + 1, kBandColor);
      }
    }
    run.clear();
  };
  for (size_t i = 0; i < lo.steps.size(); ++i) {
    const double vlo = lo.values[i], vhi = value_at(hi, lo.steps[i]);
    if (!std::isfinite(vlo) || !std::isfinite(vhi)) {
      flush();
      continue;
    }
    run.push_back({f.px(static_cast<double>(lo.steps[i])), f.py(vlo, f.y), f.py(vhi, f.y)});
  }
  flush();
}

void extend(double& lo, double& hi, const Series* s) {
  if (!s) return;
  const double a = s->min(), b = s->max();
  if (std::isfinite(a)) lo = std::min(lo, a);
  if (std::isfinite(b)) hi = std::max(hi, b);
}

// Labels right-aligned (align -1), centred (0) or left-aligned (1) on x; a label wider than the
// margin falls back to the smaller scale rather than run off the image.
void label(Canvas& c, int x, int y_mid, const std::string& s, Rgb color, int scale, int align, int room) {
  if (Canvas::text_width(s, scale) > room) scale = 1;
  const int w = Canvas::text_width(s, scale);
  const int x0 = align < 0 ? x - w : align == 0 ? x - w / 2 : x;
  c.text(x0, y_mid - Canvas::text_height(scale) / 2, s, color, scale);
}

}  // namespace

CurvePlan plan_curve(const MetricsTable& table) {
  CurvePlan p;
  if ((p.main = table.find("reward/mean"))) {
    p.band_lo = table.find("reward/min");
    p.band_hi = table.find("reward/max");
    if (!p.band_lo || !p.band_hi) p.band_lo = p.band_hi = nullptr;
    p.second = table.find("accuracy");
    p.second_on_right_axis = true;
    p.title = "reward/mean over steps";
  } else if ((p.main = table.find("loss"))) {
    p.second = table.find("val_loss");
    p.title = "loss over steps (no reward/mean: SFT run)";
  } else {
    p.main = &table.series.front();
    p.title = p.main->name + " over steps (no reward/mean or loss)";
  }
  return p;
}

PlotRect curve_plot_rect(int width, int height) {
  const int s = scale_for(width);
  return {42 * s, 32 * s, width - 36 * s, height - 25 * s};
}

Canvas draw_curve(const MetricsTable& table, const CurvePlan& plan, int width, int height) {
  Canvas c(width, height, kWhite);
  const int s = scale_for(width);
  Frame f;
  f.r = curve_plot_rect(width, height);
  if (f.r.right - f.r.left < 10 || f.r.bottom - f.r.top < 10) return c;  // too small for a plot
  f.x = nice_axis(static_cast<double>(table.steps.front()), static_cast<double>(table.steps.back()), 8, true);
  double lo = INFINITY, hi = -INFINITY;
  extend(lo, hi, plan.main);
  extend(lo, hi, plan.band_lo);
  extend(lo, hi, plan.band_hi);
  if (!plan.second_on_right_axis) extend(lo, hi, plan.second);
  f.y = nice_axis(lo, hi, 6);
  Axis right;
  if (plan.second && plan.second_on_right_axis) right = nice_axis(plan.second->min(), plan.second->max(), 6);

  for (double t : f.y.ticks) c.fill_rect(f.r.left, f.py(t, f.y), f.r.right, f.py(t, f.y) + 1, kGrid);
  for (double t : f.x.ticks) c.fill_rect(f.px(t), f.r.top, f.px(t) + 1, f.r.bottom, kGrid);
  if (plan.band_lo) draw_band(c, f, *plan.band_lo, *plan.band_hi);
  if (plan.second)
    draw_series(c, f, *plan.second, plan.second_on_right_axis ? right : f.y, kSecondColor,
                plan.second->values.size() <= 60);
  draw_series(c, f, *plan.main, f.y, kMainColor, false);

  c.fill_rect(f.r.left - 1, f.r.top, f.r.left, f.r.bottom + 1, kAxis);
  c.fill_rect(f.r.left - 1, f.r.bottom, f.r.right, f.r.bottom + 1, kAxis);
  const int tick = 3 * s, gap = 3 * s + 2;
  for (double t : f.y.ticks) {
    c.fill_rect(f.r.left - 1 - tick, f.py(t, f.y), f.r.left - 1, f.py(t, f.y) + 1, kAxis);
    label(c, f.r.left - 1 - gap, f.py(t, f.y), format_tick(t, f.y.step), kText, s, -1, f.r.left - gap - 2);
  }
  int last_end = -1000000;  // x tick labels that would overlap the previous one are left out
  for (double t : f.x.ticks) {
    c.fill_rect(f.px(t), f.r.bottom, f.px(t) + 1, f.r.bottom + tick, kAxis);
    const std::string text = format_tick(t, f.x.step);
    const int w = Canvas::text_width(text, s);
    if (f.px(t) - w / 2 < last_end + 4 * s) continue;
    label(c, f.px(t), f.r.bottom + gap + Canvas::text_height(s) / 2, text, kText, s, 0, width);
    last_end = f.px(t) + w / 2;
  }
  label(c, (f.r.left + f.r.right) / 2, height - 2 - Canvas::text_height(s) / 2, "step", kText, s, 0, width);
  if (plan.second && plan.second_on_right_axis) {
    c.fill_rect(f.r.right, f.r.top, f.r.right + 1, f.r.bottom + 1, kSecondColor);
    for (double t : right.ticks) {
      c.fill_rect(f.r.right + 1, f.py(t, right), f.r.right + 1 + tick, f.py(t, right) + 1, kSecondColor);
      label(c, f.r.right + 1 + gap, f.py(t, right), format_tick(t, right.step), kSecondColor, s, 1,
            width - f.r.right - gap - 2);
    }
  }

  label(c, width / 2, 5 * s + Canvas::text_height(s) / 2, plan.title, kText, s, 0, width - 4);
  // Legend between the title and the plot: a swatch and a name per drawn series, in the small
  // font when the large one would run off the image.
  struct Entry {
    Rgb color;
    std::string name;
    int thickness;
  };
  std::vector<Entry> entries = {{kMainColor, plan.main->name, 2}};
  if (plan.band_lo) entries.push_back({kBandColor, "min to max", 6});
  if (plan.second) entries.push_back({kSecondColor, plan.second->name + (plan.second_on_right_axis ? " (right axis)" : ""), 2});
  auto legend_width = [&](int ls) {
    int w = 0;
    for (const auto& e : entries) w += 27 * ls + Canvas::text_width(e.name, ls);
    return w;
  };
  const int ls = f.r.left + legend_width(s) <= width ? s : 1;
  int x = f.r.left;
  const int y = 18 * s + Canvas::text_height(s) / 2;
  for (const auto& e : entries) {
    c.fill_rect(x, y - e.thickness * ls / 2, x + 12 * ls, y - e.thickness * ls / 2 + e.thickness * ls, e.color);
    x += 15 * ls;
    label(c, x, y, e.name, kText, ls, 1, width);
    x += Canvas::text_width(e.name, ls) + 12 * ls;
  }
  return c;
}

}  // namespace arlt::report
