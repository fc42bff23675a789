// arlt report: report.html and reward.png from a run folder's metrics.jsonl.
#include <cstdio>
#include <memory>
#include <string>

#include "arlt/cli/commands.h"
#include "arlt/report/report.h"

namespace arlt::cli {

void add_report(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "report", "write report.html (a plot per metric) and reward.png (the reward curve) from a run's metrics.jsonl");
  sub->add_option("run", *dir, "run folder (holds metrics.jsonl)")->required();
  sub->callback([dir] {
    const report::ReportFiles r = report::write_report(*dir);
    std::printf("report: %s (%d metrics over %d steps), reward curve: %s\n", r.html.c_str(), r.metrics, r.steps,
                r.png.c_str());
  });
}

}  // namespace arlt::cli
