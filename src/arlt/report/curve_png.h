// The report's PNG: the reward curve of an RL run (reward/mean, a min-max band, accuracy on a
// right axis), or the loss curve (with val_loss) of a run that has no reward/mean.
#pragma once
#include <string>

#include "arlt/report/metrics.h"
#include "arlt/report/raster.h"

namespace arlt::report {

inline constexpr Rgb kMainColor{31, 119, 180};
inline constexpr Rgb kBandColor{198, 219, 239};
inline constexpr Rgb kSecondColor{255, 127, 14};

// Which series the PNG draws; pointers into the MetricsTable it was planned from.
struct CurvePlan {
  std::string title;
  const Series* main = nullptr;
  const Series* band_lo = nullptr;  // both or neither
  const Series* band_hi = nullptr;
  const Series* second = nullptr;
  bool second_on_right_axis = false;  // its own scale (accuracy next to a reward of any range)
};
CurvePlan plan_curve(const MetricsTable& table);

// The plotting area inside the margins (left <= x < right, top <= y < bottom): every curve pixel
// lies in it; title, legend and tick labels lie outside.
struct PlotRect {
  int left, top, right, bottom;
};
PlotRect curve_plot_rect(int width, int height);

Canvas draw_curve(const MetricsTable& table, const CurvePlan& plan, int width = 800, int height = 480);

}  // namespace arlt::report
