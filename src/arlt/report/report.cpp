#include "arlt/report/report.h"

#include <filesystem>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/report/curve_png.h"
#include "arlt/report/html.h"
#include "arlt/report/metrics.h"

namespace arlt::report {
namespace fs = std::filesystem;

ReportFiles write_report(const std::string& run_dir) {
  if (!fs::is_directory(run_dir)) throw Error(run_dir + ": not a folder (expected a run folder holding metrics.jsonl)");
  const fs::path dir(run_dir);
  const MetricsTable table = read_metrics((dir / "metrics.jsonl").string());

  // "runs/x/" and "." still name the run by its folder.
  fs::path named = fs::absolute(dir).lexically_normal();
  if (named.filename().empty()) named = named.parent_path();

  ReportFiles out;
  out.html = (dir / "report.html").string();
  out.png = (dir / "reward.png").string();
  out.metrics = static_cast<int>(table.series.size());
  out.steps = static_cast<int>(table.steps.size());
  write_file_atomic(out.html, render_html(table, named.filename().string()));
  const Canvas image = draw_curve(table, plan_curve(table));
  write_file_atomic(out.png, encode_png(image.width(), image.height(), image.rgb()));
  return out;
}

}  // namespace arlt::report
