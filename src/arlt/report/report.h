// arlt report: a run folder's metrics.jsonl as one offline HTML page (a plot per metric, inline
// SVG) and a PNG of the reward curve (the loss curve for a run without rewards).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::report {

struct ReportFiles {
  std::string html, png;  // <run_dir>/report.html, <run_dir>/reward.png
  int metrics = 0, steps = 0;
};

// Reads <run_dir>/metrics.jsonl: one JSON object a line, an integer "step", every other numeric
// field a metric (null, which the trainer writes for NaN/inf, is a gap in that metric's curve).
// Writes <run_dir>/report.html and <run_dir>/reward.png. Throws arlt::Error naming file:line for a
// line that is not a JSON object or has no integer "step", and when the file is missing or holds
// no numeric metric.
ReportFiles write_report(const std::string& run_dir);

// 8-bit RGB pixels, row-major, 3 bytes each, as a PNG file's bytes (one zlib-compressed IDAT).
std::string encode_png(int width, int height, const std::vector<uint8_t>& rgb);

}  // namespace arlt::report
