// A strict reader for the PNGs the report writes (8-bit RGB, filter 0), written against the PNG
// specification rather than the writer, so that the tests check the file and not the code.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace arlt::report::test {

struct DecodedPng {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  std::vector<std::string> chunk_types;
  uint8_t pixel(int x, int y, int channel) const { return rgb[(static_cast<size_t>(y) * width + x) * 3 + channel]; }
};

inline uint32_t be32(const std::string& s, size_t at) {
  if (at + 4 > s.size()) throw std::runtime_error("truncated at byte " + std::to_string(at));
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

inline DecodedPng decode_png(const std::string& png) {
  if (png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) throw std::runtime_error("bad signature");
  DecodedPng out;
  std::string idat;
  bool ended = false;
  size_t at = 8;
  while (at < png.size()) {
    const uint32_t len = be32(png, at);
    if (at + 12 + len > png.size()) throw std::runtime_error("chunk runs past the end");
    const std::string type = png.substr(at + 4, 4), data = png.substr(at + 8, len);
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(png.data() + at + 4), len + 4);
    if (crc != be32(png, at + 8 + len)) throw std::runtime_error("bad CRC in " + type);
    out.chunk_types.push_back(type);
    if (type == "IHDR") {
      if (len != 13) throw std::runtime_error("IHDR length " + std::to_string(len));
      out.width = static_cast<int>(be32(data, 0));
      out.height = static_cast<int>(be32(data, 4));
      if (data[8] != 8 || data[9] != 2) throw std::runtime_error("not 8-bit RGB");
      if (data[10] != 0 || data[11] != 0 || data[12] != 0) throw std::runtime_error("unexpected method/filter/interlace");
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  if (out.chunk_types.empty() || out.chunk_types.front() != "IHDR" || !ended || out.chunk_types.back() != "IEND")
    throw std::runtime_error("chunks must run IHDR ... IEND");
  const size_t row = static_cast<size_t>(out.width) * 3;
  std::string raw((row + 1) * out.height, '\0');
  uLongf raw_size = raw.size();
  if (uncompress(reinterpret_cast<Bytef*>(&raw[0]), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_size != raw.size())
    throw std::runtime_error("IDAT does not inflate to the image size");
  out.rgb.reserve(row * out.height);
  for (int y = 0; y < out.height; ++y) {
    const size_t start = y * (row + 1);
    if (raw[start] != 0) throw std::runtime_error("row " + std::to_string(y) + " uses filter " + std::to_string(int(raw[start])));
    out.rgb.insert(out.rgb.end(), raw.begin() + start + 1, raw.begin() + start + 1 + row);
  }
  return out;
}

}  // namespace arlt::report::test
