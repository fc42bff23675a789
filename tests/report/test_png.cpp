#include <gtest/gtest.h>

#include "arlt/base/error.h"
#include "arlt/report/raster.h"
#include "arlt/report/report.h"
#include "png_reader.h"

namespace arlt::report {
namespace {

TEST(ReportPng, RoundTripsPixelsThroughAnIndependentReader) {
  const int w = 7, h = 5;
  std::vector<uint8_t> rgb(w * h * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 37 + 11);
  const std::string png = encode_png(w, h, rgb);
  const auto d = test::decode_png(png);
  EXPECT_EQ(d.width, w);
  EXPECT_EQ(d.height, h);
  EXPECT_EQ(d.rgb, rgb);
  EXPECT_EQ(d.chunk_types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
}

TEST(ReportPng, ReaderCatchesACorruptedCrc) {
  std::string png = encode_png(2, 2, std::vector<uint8_t>(12, 200));
  png[20] ^= 1;  // inside IHDR's data
  EXPECT_THROW(test::decode_png(png), std::runtime_error);
}

TEST(ReportPng, RejectsAPixelBufferOfTheWrongSize) {
  EXPECT_THROW(encode_png(4, 4, std::vector<uint8_t>(4 * 4 * 3 - 1)), Error);
  EXPECT_THROW(encode_png(0, 4, {}), Error);
}

TEST(ReportRaster, LinesReachBothEndsAndTextStaysInItsBox) {
  const Rgb white{255, 255, 255}, ink{0, 0, 0};
  Canvas c(40, 20, white);
  c.line(1, 18, 30, 2, ink);
  EXPECT_EQ(c.at(1, 18), ink);
  EXPECT_EQ(c.at(30, 2), ink);
  c.line(-10, 5, 100, 5, ink);  // clipped, no crash
  EXPECT_EQ(c.at(39, 5), ink);

  Canvas t(40, 20, white);
  t.text(2, 3, "e-1", ink, 1);  // lower case draws as upper case
  int inked = 0;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x)
      if (t.at(x, y) == ink) {
        ++inked;
        EXPECT_GE(x, 2);
        EXPECT_LT(x, 2 + Canvas::text_width("e-1"));
        EXPECT_GE(y, 3);
        EXPECT_LT(y, 3 + Canvas::text_height());
      }
  EXPECT_EQ(inked, 18 + 5 + 10);  // the lit pixels of E, - and 1 in the 5x7 font
}

}  // namespace
}  // namespace arlt::report
