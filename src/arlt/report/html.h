// The report page: a summary table and an inline SVG plot per metric, grouped by the prefix
// before '/'. Self-contained: inline CSS, no script, no URL.
#pragma once
#include <string>

#include "arlt/report/metrics.h"

namespace arlt::report {

// A polyline holds every point of its metric up to this many; longer runs keep, per pixel
// column, the first, last, lowest and highest point (the drawn shape is the same).
inline constexpr size_t kMaxExactPoints = 2000;

std::string render_html(const MetricsTable& table, const std::string& run_name);

}  // namespace arlt::report
