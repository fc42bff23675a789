#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../test_fs.h"
#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/report/curve_png.h"
#include "arlt/report/html.h"
#include "arlt/report/metrics.h"
#include "arlt/report/report.h"
#include "png_reader.h"

namespace arlt::report {
namespace {
namespace fs = std::filesystem;

// A fresh run folder under the system temp folder, removed at the end of the test.
class RunDir {
 public:
  std::string str() const { return dir_.str(); }
  std::string metrics() const { return dir_ / "metrics.jsonl"; }
  void write(const std::string& text) const { std::ofstream(metrics(), std::ios::binary) << text; }

 private:
  arlt::test::TempDir dir_;
};

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

// The point count of each polyline in the SVG plot of one metric.
std::vector<int> polylines(const std::string& html, const std::string& metric) {
  const size_t start = html.find("data-metric=\"" + metric + "\"");
  EXPECT_NE(start, std::string::npos) << metric;
  if (start == std::string::npos) return {};
  const std::string svg = html.substr(start, html.find("</svg>", start) - start);
  std::vector<int> out;
  const std::string key = "<polyline class=\"curve\" points=\"";
  for (size_t at = svg.find(key); at != std::string::npos; at = svg.find(key, at + 1)) {
    const size_t from = at + key.size(), to = svg.find('"', from);
    out.push_back(static_cast<int>(count(svg.substr(from, to - from), ",")));
  }
  return out;
}

// Mean image row of the pixels of one colour inside the plot, over the columns [x0, x1).
double mean_row(const test::DecodedPng& png, Rgb color, int x0, int x1, int* n_out = nullptr) {
  const PlotRect r = curve_plot_rect(png.width, png.height);
  double sum = 0;
  int n = 0;
  for (int y = r.top; y < r.bottom; ++y)
    for (int x = x0; x < x1; ++x)
      if (png.pixel(x, y, 0) == color.r && png.pixel(x, y, 1) == color.g && png.pixel(x, y, 2) == color.b) sum += y, ++n;
  if (n_out) *n_out = n;
  return n ? sum / n : NAN;
}

// 40 RL steps: rising reward with a min-max band and accuracy; kl only on even steps; entropy
// null on steps 10 and 11; a string and a boolean field that are not metrics.
std::string rl_metrics() {
  std::string text;
  for (int i = 1; i <= 40; ++i) {
    const double mean = 0.1 + 0.8 * (i - 1) / 39.0;
    nlohmann::ordered_json j = {{"step", i}, {"reward/mean", mean}, {"reward/min", mean - 0.2},
                        {"reward/max", mean + 0.2}, {"reward/std", 0.1}, {"accuracy", 0.05 + 0.02 * i},
                        {"time/step", 1.5}, {"note", "warm"},      {"skipped_flag", false}};
    j["entropy"] = (i == 10 || i == 11) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(2.0 - 0.01 * i);
    if (i % 2 == 0) j["kl"] = 0.001 * i;
    text += j.dump() + "\n";
  }
  return text;
}

TEST(ReportMetrics, ParsesStepsMissingFieldsNullsAndRepeatedSteps) {
  const std::string text =
      "{\"step\": 2, \"loss\": 2.0, \"lr\": 1e-4, \"tag\": \"x\", \"nan_only\": null}\n"
      "\n"
      "{\"step\": 1, \"loss\": 3.0, \"ok\": true, \"nan_only\": null}\r\n"
      "{\"step\": 3, \"loss\": null, \"lr\": 1e-4}\n"
      "{\"step\": 2, \"loss\": 1.5}\n";  // a resumed run repeats step 2: the later line wins
  const MetricsTable t = parse_metrics(text, "m.jsonl");
  EXPECT_EQ(t.steps, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(t.series.size(), 2u);  // "tag" (string) and "ok" (bool) are not metrics
  const Series* loss = t.find("loss");
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->steps, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(loss->values[0], 3.0);
  EXPECT_EQ(loss->values[1], 1.5);
  EXPECT_TRUE(std::isnan(loss->values[2]));
  EXPECT_EQ(loss->finite_count(), 2u);
  EXPECT_EQ(loss->first(), 3.0);
  EXPECT_EQ(loss->last(), 1.5);
  EXPECT_EQ(loss->min(), 1.5);
  EXPECT_EQ(loss->max(), 3.0);
  EXPECT_EQ(t.find("lr")->steps, (std::vector<int64_t>{2, 3}));  // missing on step 1: no point, no gap
  EXPECT_EQ(t.all_null, (std::vector<std::string>{"nan_only"}));
}

TEST(ReportMetrics, ErrorsNameTheFileAndLine) {
  auto message = [](const std::string& text) {
    try {
      parse_metrics(text, "run/metrics.jsonl");
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string ok = "{\"step\": 1, \"loss\": 1}\n";
  EXPECT_NE(message(ok + ok + "{\"step\": 3, loss}\n").find("run/metrics.jsonl:3: not valid JSON"), std::string::npos);
  EXPECT_NE(message(ok + "{\"loss\": 1}\n").find("run/metrics.jsonl:2: no \"step\""), std::string::npos);
  EXPECT_NE(message("{\"step\": \"one\", \"loss\": 1}\n").find("run/metrics.jsonl:1: \"step\" is \"one\""),
            std::string::npos);
  EXPECT_NE(message("[1, 2]\n").find("run/metrics.jsonl:1: expected a JSON object"), std::string::npos);
  EXPECT_NE(message("{\"step\": 1, \"note\": \"x\"}\n").find("no numeric metric"), std::string::npos);
  EXPECT_NE(message("").find("no numeric metric"), std::string::npos);
  // A line the trainer is still writing (no newline yet) is not an error.
  EXPECT_EQ(parse_metrics(ok + "{\"step\": 2, \"lo", "m").steps.size(), 1u);
}

TEST(ReportMetrics, NiceAxesAndShortTickLabels) {
  const Axis a = nice_axis(0.13, 0.87, 5);
  EXPECT_DOUBLE_EQ(a.step, 0.2);
  EXPECT_DOUBLE_EQ(a.lo, 0.0);
  EXPECT_DOUBLE_EQ(a.hi, 1.0);
  ASSERT_EQ(a.ticks.size(), 6u);
  EXPECT_EQ(format_tick(a.ticks[3], a.step), "0.6");
  EXPECT_EQ(format_tick(a.ticks[0], a.step), "0");
  const Axis flat = nice_axis(5, 5);
  EXPECT_LT(flat.lo, 5);
  EXPECT_GT(flat.hi, 5);
  const Axis steps = nice_axis(1, 3, 8, true);
  EXPECT_EQ(steps.step, 1);
  EXPECT_EQ(format_tick(2e-5, 1e-5), "2e-05");
  EXPECT_EQ(format_tick(1500, 500), "1500");
}

TEST(ReportWrite, RewardCurvePngRisesWithTheReward) {
  RunDir run;
  run.write(rl_metrics());
  const ReportFiles r = write_report(run.str());
  EXPECT_EQ(r.png, (fs::path(run.str()) / "reward.png").string());
  EXPECT_EQ(r.metrics, 8);
  EXPECT_EQ(r.steps, 40);
  const auto png = test::decode_png(read_file(r.png));
  ASSERT_EQ(png.width, 800);
  ASSERT_EQ(png.height, 480);

  const PlotRect rect = curve_plot_rect(png.width, png.height);
  const int quarter = (rect.right - rect.left) / 4;
  int n_left = 0, n_right = 0, n_band = 0, n_accuracy = 0;
  const double left = mean_row(png, kMainColor, rect.left, rect.left + quarter, &n_left);
  const double right = mean_row(png, kMainColor, rect.right - quarter, rect.right, &n_right);
  EXPECT_GT(n_left, 50);
  EXPECT_GT(n_right, 50);
  EXPECT_GT(left, right + 100) << "a rising reward is drawn higher (smaller rows) on the right";
  mean_row(png, kBandColor, rect.left, rect.right, &n_band);
  mean_row(png, kSecondColor, rect.left, rect.right, &n_accuracy);
  EXPECT_GT(n_band, 5000) << "the min-max band";
  EXPECT_GT(n_accuracy, 100) << "the accuracy line";
  EXPECT_EQ(plan_curve(read_metrics(run.metrics())).title, "reward/mean over steps");
}

TEST(ReportWrite, HtmlHasAnOfflineSvgPlotPerMetric) {
  RunDir run;
  run.write(rl_metrics());
  const ReportFiles r = write_report(run.str());
  const std::string html = read_file(r.html);
  EXPECT_NE(html.find("<title>arlt report: " + fs::path(run.str()).filename().string() + "</title>"), std::string::npos);
  EXPECT_EQ(count(html, "<svg"), 8u);
  for (const char* name :
       {"reward/mean", "reward/min", "reward/max", "reward/std", "accuracy", "time/step", "entropy", "kl"}) {
    EXPECT_NE(html.find(name), std::string::npos) << name;
    EXPECT_NE(html.find("<td>" + std::string(name) + "</td>"), std::string::npos) << name << " in the summary";
  }
  EXPECT_EQ(html.find("note"), std::string::npos);
  EXPECT_EQ(html.find("skipped_flag"), std::string::npos);
  std::string without_ns = html;
  const std::string ns = "xmlns=\"http://www.w3.org/2000/svg\"";
  for (size_t at; (at = without_ns.find(ns)) != std::string::npos;) without_ns.erase(at, ns.size());
  EXPECT_EQ(without_ns.find("http://"), std::string::npos);
  EXPECT_EQ(without_ns.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);

  EXPECT_EQ(polylines(html, "reward/mean"), std::vector<int>{40});
  EXPECT_EQ(polylines(html, "kl"), std::vector<int>{20});               // missing on odd steps: joined
  EXPECT_EQ(polylines(html, "entropy"), (std::vector<int>{9, 29}));     // null on 10 and 11: a gap
  // Groups by the prefix before '/', in order of first appearance.
  const size_t reward = html.find("<h2>reward</h2>"), general = html.find("<h2>general</h2>"),
               time = html.find("<h2>time</h2>");
  ASSERT_NE(reward, std::string::npos);
  ASSERT_NE(general, std::string::npos);
  ASSERT_NE(time, std::string::npos);
  EXPECT_LT(reward, general);
  EXPECT_LT(general, time);
}

TEST(ReportWrite, SftRunPlotsTheLoss) {
  RunDir run;
  std::string text;
  for (int i = 0; i < 30; ++i) {
    nlohmann::json j = {{"step", i}, {"loss", 2.0 - 0.05 * i}, {"lr", 1e-4}, {"grad_norm", 1.0}, {"tokens_per_s", 900}};
    if (i % 10 == 9) j["val_loss"] = 2.1 - 0.05 * i;
    text += j.dump() + "\n";
  }
  run.write(text);
  const ReportFiles r = write_report(run.str());
  EXPECT_EQ(r.metrics, 5);
  EXPECT_EQ(r.steps, 30);
  const CurvePlan plan = plan_curve(read_metrics(run.metrics()));
  EXPECT_EQ(plan.main->name, "loss");
  EXPECT_EQ(plan.second->name, "val_loss");
  EXPECT_NE(plan.title.find("loss over steps"), std::string::npos);

  const auto png = test::decode_png(read_file(r.png));
  const PlotRect rect = curve_plot_rect(png.width, png.height);
  const int quarter = (rect.right - rect.left) / 4;
  EXPECT_LT(mean_row(png, kMainColor, rect.left, rect.left + quarter),
            mean_row(png, kMainColor, rect.right - quarter, rect.right) - 100)
      << "a falling loss is drawn lower on the right";
  const std::string html = read_file(r.html);
  EXPECT_EQ(count(html, "<svg"), 5u);
  EXPECT_EQ(polylines(html, "val_loss"), std::vector<int>{3});
}

TEST(ReportWrite, LongRunsKeepTheirShapeInFewerPoints) {
  RunDir run;
  std::string text;
  const int n = 10000;
  for (int i = 0; i < n; ++i)
    text += "{\"step\":" + std::to_string(i) + ",\"reward/mean\":" + std::to_string(std::sin(i * 0.37) + i * 1e-4) + "}\n";
  run.write(text);
  const ReportFiles r = write_report(run.str());
  const std::string html = read_file(r.html);
  const auto lines = polylines(html, "reward/mean");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0], 4 * 400);  // at most 4 points per pixel column
  EXPECT_GT(lines[0], 300);
  EXPECT_LT(html.size(), 200000u);
  EXPECT_EQ(r.steps, n);
}

TEST(ReportWrite, ASingleStepStillShowsItsPoint) {
  RunDir run;
  run.write("{\"step\": 7, \"reward/mean\": 0.5, \"a<b\": 1}\n");
  const ReportFiles r = write_report(run.str());
  EXPECT_EQ(r.steps, 1);
  const std::string html = read_file(r.html);
  EXPECT_EQ(polylines(html, "reward/mean"), std::vector<int>{1});
  EXPECT_NE(html.find("<circle"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(html.find("a<b"), std::string::npos);
  int n = 0;
  const auto png = test::decode_png(read_file(r.png));
  const PlotRect rect = curve_plot_rect(png.width, png.height);
  mean_row(png, kMainColor, rect.left, rect.right, &n);
  EXPECT_GT(n, 4);
}

TEST(ReportWrite, MissingMetricsFileOrFolderIsBadInput) {
  RunDir run;
  try {
    write_report(run.str());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_report(run.str() + "/nope"), Error);
  run.write("{\"step\": 1, \"loss\": 1}\nnot json\n");
  try {
    write_report(run.str());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(run.metrics() + ":2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(fs::path(run.str()) / "report.html"));
}

}  // namespace
}  // namespace arlt::report
