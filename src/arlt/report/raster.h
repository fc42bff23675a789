// A tiny RGB rasterizer for the report's PNG: clipped pixels, filled rectangles, thick
// Bresenham lines and text in a built-in 5x7 bitmap font (upper case, digits, ".-+/():,_=%").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::report {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& rgb() const { return rgb_; }
  Rgb at(int x, int y) const;

  void set(int x, int y, Rgb c);  // outside the canvas: ignored
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // x0 <= x < x1, y0 <= y < y1
  // thickness t paints a t x t square at every point of the line.
  void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);
  // (x, y) is the top-left corner; lower case draws as upper case; each glyph is scaled by scale.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);

  static int text_width(const std::string& s, int scale = 1) { return static_cast<int>(s.size()) * 6 * scale - scale; }
  static int text_height(int scale = 1) { return 7 * scale; }

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
};

}  // namespace arlt::report
