// Tests for arlt::io safetensors: round trips of every dtype, zero-copy mapped views,
// sharded model folders, and rejection of malformed files with errors naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/io/safetensors.h"
#include "../test_util.h"

namespace {
namespace fs = std::filesystem;
using arlt::io::NamedTensors;
using arlt::io::SafeTensorsFile;
using arlt::io::TensorStore;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// Writes [u64 LE header length][header][data_bytes zero bytes]. header_len, when given,
// replaces the stored length (to point it past the end of the file).
void write_raw(const fs::path& p, const std::string& header, size_t data_bytes,
               std::optional<uint64_t> header_len = std::nullopt) {
  spit(p, u64le(header_len.value_or(header.size())) + header + std::string(data_bytes, '\0'));
}

uint64_t stored_header_len(const fs::path& p) {
  const std::string s = slurp(p);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s.at(i));
  return v;
}

// f must throw arlt::Error whose message contains every needle.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected arlt::Error, but nothing was thrown";
  } catch (const arlt::Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "message lacks '" << n << "': " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected arlt::Error, got another exception: " << e.what();
  }
}

int64_t nbytes(const torch::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

NamedTensors all_dtypes() {
  torch::manual_seed(0);
  return {
      {"f32", torch::randn({3, 4})},
      {"f16", torch::randn({2, 5}).to(torch::kFloat16)},
      {"bf16", torch::randn({7}).to(torch::kBFloat16)},
      {"f64", torch::randn({2, 2, 2}, torch::kFloat64)},
      {"i64", torch::randint(-1000000, 1000000, {6}, torch::kInt64)},
      {"i32", torch::randint(-100000, 100000, {2, 3}, torch::kInt32)},
      {"i8", torch::randint(-128, 128, {9}, torch::kInt8)},
      {"u8", torch::randint(0, 256, {4, 4}, torch::kUInt8)},
      {"bool", torch::randint(0, 2, {5}, torch::kInt64).to(torch::kBool)},
      {"empty", torch::zeros({0, 3})},
      {"scalar", torch::scalar_tensor(3.25, torch::kFloat32)},
  };
}

class SafetensorsIo : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_ / name; }
  arlt::test::TempDir dir_;
};

// ---- round trips -------------------------------------------------------------------------

TEST_F(SafetensorsIo, RoundTripsEveryDtypeBitExact) {
  const NamedTensors tensors = all_dtypes();
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "hello world"}};
  arlt::io::write_safetensors(path("a.safetensors"), tensors, meta);

  auto f = SafeTensorsFile::open(path("a.safetensors"));
  EXPECT_EQ(f->path(), path("a.safetensors"));
  EXPECT_EQ(f->metadata(), meta);
  ASSERT_EQ(f->tensors().size(), tensors.size());
  const std::map<std::string, std::string> want_dtype = {
      {"f32", "F32"}, {"f16", "F16"}, {"bf16", "BF16"}, {"f64", "F64"},  {"i64", "I64"},    {"i32", "I32"},
      {"i8", "I8"},   {"u8", "U8"},   {"bool", "BOOL"}, {"empty", "F32"}, {"scalar", "F32"}};
  for (const auto& [name, want] : tensors) {
    SCOPED_TRACE(name);
    const arlt::io::TensorInfo* info = f->find(name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, want_dtype.at(name));
    EXPECT_EQ(info->shape, want.sizes().vec());
    EXPECT_EQ(info->end - info->begin, static_cast<uint64_t>(nbytes(want)));
    torch::Tensor got = f->tensor(name);
    EXPECT_EQ(got.scalar_type(), want.scalar_type());
    EXPECT_EQ(got.sizes().vec(), want.sizes().vec());
    EXPECT_TRUE(torch::equal(got, want));
  }
  EXPECT_EQ(f->tensor("scalar").dim(), 0);
  EXPECT_EQ(f->tensor("scalar").item<float>(), 3.25f);
  EXPECT_EQ(f->tensor("empty").numel(), 0);
}

TEST_F(SafetensorsIo, StoresTensorsInOrderGivenAndBackToBack) {
  const NamedTensors tensors = all_dtypes();
  arlt::io::write_safetensors(path("a.safetensors"), tensors);
  auto f = SafeTensorsFile::open(path("a.safetensors"));
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const auto* info = f->find(name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->begin, offset);
    offset += static_cast<uint64_t>(nbytes(t));
    EXPECT_EQ(info->end, offset);
  }
  // The file is exactly length prefix + header + data.
  EXPECT_EQ(fs::file_size(path("a.safetensors")), 8 + stored_header_len(path("a.safetensors")) + offset);
}

TEST_F(SafetensorsIo, HeaderIsPaddedSoDataStartsEightByteAligned) {
  // Try several name lengths so the unpadded header would land on every remainder mod 8.
  for (int extra = 0; extra < 8; ++extra) {
    SCOPED_TRACE(extra);
    const std::string p = path("pad" + std::to_string(extra) + ".safetensors");
    arlt::io::write_safetensors(p, {{"t" + std::string(extra, 'x'), torch::randn({3})}});
    const uint64_t hl = stored_header_len(p);
    EXPECT_EQ((8 + hl) % 8, 0u);
    EXPECT_NO_THROW(SafeTensorsFile::open(p));
  }
}

TEST_F(SafetensorsIo, DefaultMetadataIsFormatPt) {
  arlt::io::write_safetensors(path("a.safetensors"), {{"w", torch::randn({2})}});
  auto f = SafeTensorsFile::open(path("a.safetensors"));
  const std::map<std::string, std::string> want = {{"format", "pt"}};
  EXPECT_EQ(f->metadata(), want);
}

TEST_F(SafetensorsIo, WritesNonContiguousTensorsAsContiguous) {
  torch::Tensor t = torch::randn({3, 4}).t();
  ASSERT_FALSE(t.is_contiguous());
  arlt::io::write_safetensors(path("a.safetensors"), {{"t", t}});
  auto f = SafeTensorsFile::open(path("a.safetensors"));
  torch::Tensor got = f->tensor("t");
  EXPECT_EQ(got.sizes().vec(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(torch::equal(got, t));
}

TEST_F(SafetensorsIo, RejectsDuplicateNamesOnWrite) {
  EXPECT_THROW(arlt::io::write_safetensors(path("a.safetensors"), {{"w", torch::randn({2})}, {"w", torch::randn({2})}}),
               arlt::Error);
}

TEST_F(SafetensorsIo, UnknownTensorNameThrows) {
  arlt::io::write_safetensors(path("a.safetensors"), {{"w", torch::randn({2})}});
  auto f = SafeTensorsFile::open(path("a.safetensors"));
  EXPECT_EQ(f->find("nope"), nullptr);
  expect_error([&] { f->tensor("nope"); }, {path("a.safetensors"), "nope"});
}

// ---- zero-copy views ---------------------------------------------------------------------

TEST_F(SafetensorsIo, TensorIsAViewOfTheMapping) {
  const torch::Tensor a = torch::randn({3}), b = torch::randn({5});
  arlt::io::write_safetensors(path("a.safetensors"), {{"a", a}, {"b", b}});
  auto f = SafeTensorsFile::open(path("a.safetensors"));
  torch::Tensor a1 = f->tensor("a"), a2 = f->tensor("a"), b1 = f->tensor("b");
  // Same bytes each call, not a fresh copy.
  EXPECT_EQ(a1.data_ptr(), a2.data_ptr());
  // Tensors sit in the mapping at their data offsets.
  const auto* ia = f->find("a");
  const auto* ib = f->find("b");
  ASSERT_NE(ia, nullptr);
  ASSERT_NE(ib, nullptr);
  EXPECT_EQ(static_cast<const char*>(b1.data_ptr()) - static_cast<const char*>(a1.data_ptr()),
            static_cast<std::ptrdiff_t>(ib->begin) - static_cast<std::ptrdiff_t>(ia->begin));
  // The data section starts 8-byte aligned (page-aligned map + padded header).
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a1.data_ptr()) % 8, 0u);
}

TEST_F(SafetensorsIo, TensorKeepsTheMappingAlive) {
  const torch::Tensor a = torch::randn({64});
  arlt::io::write_safetensors(path("a.safetensors"), {{"a", a}});
  torch::Tensor view;
  {
    auto f = SafeTensorsFile::open(path("a.safetensors"));
    view = f->tensor("a");
  }  // the file object is gone; the view must still be readable
  EXPECT_TRUE(torch::equal(view, a));
}

TEST_F(SafetensorsIo, WritingIntoAViewNeverTouchesTheFile) {
  const torch::Tensor a = torch::randn({16}), b = torch::randint(0, 100, {4}, torch::kInt64);
  const std::string p = path("a.safetensors");
  arlt::io::write_safetensors(p, {{"a", a}, {"b", b}});
  const std::string before = slurp(p);
  {
    auto f = SafeTensorsFile::open(p);
    torch::Tensor va = f->tensor("a");
    va.fill_(42.0);
    f->tensor("b").zero_();
    // The write is visible through the same mapping...
    EXPECT_TRUE(torch::equal(f->tensor("a"), torch::full({16}, 42.0)));
  }
  // ...but not in the file.
  EXPECT_EQ(slurp(p), before);
  auto g = SafeTensorsFile::open(p);
  EXPECT_TRUE(torch::equal(g->tensor("a"), a));
  EXPECT_TRUE(torch::equal(g->tensor("b"), b));
}

// ---- model folders -----------------------------------------------------------------------

NamedTensors model_tensors() {
  torch::manual_seed(1);
  NamedTensors t;
  // Given out of order on purpose: write_model_weights sorts names.
  for (int i = 4; i >= 0; --i) t.emplace_back("layer." + std::to_string(i) + ".weight", torch::randn({1000}));
  t.emplace_back("bias_bf16", torch::randn({10}).to(torch::kBFloat16));
  return t;  // 5 * 4000 + 20 = 20020 bytes
}

TEST_F(SafetensorsIo, ShardedModelWeightsRoundTrip) {
  const NamedTensors tensors = model_tensors();
  const uint64_t max_shard = 8000;
  arlt::io::write_model_weights(dir_.string(), tensors, max_shard);

  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));
  ASSERT_TRUE(fs::exists(dir_ / "model.safetensors.index.json"));
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().extension() == ".safetensors") ++n;
  ASSERT_GE(n, 3);
  char name[64];
  for (int i = 1; i <= n; ++i) {
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", i, n);
    SCOPED_TRACE(name);
    ASSERT_TRUE(fs::exists(dir_ / name));
    // Each shard holds at most max_shard bytes of tensors (every tensor here fits in one).
    auto shard = SafeTensorsFile::open((dir_ / name));
    uint64_t bytes = 0;
    for (const auto& t : shard->tensors()) bytes += t.end - t.begin;
    EXPECT_LE(bytes, max_shard);
    EXPECT_GT(bytes, 0u);
  }

  std::ifstream in(dir_ / "model.safetensors.index.json");
  const json index = json::parse(in);
  ASSERT_TRUE(index.contains("weight_map"));
  ASSERT_TRUE(index.contains("metadata"));
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 20020u);
  EXPECT_EQ(index["weight_map"].size(), tensors.size());

  const TensorStore store = TensorStore::open_folder(dir_.string());
  EXPECT_EQ(static_cast<int>(store.files().size()), n);
  std::vector<std::string> want_names;
  for (const auto& [nm, _] : tensors) want_names.push_back(nm);
  std::sort(want_names.begin(), want_names.end());
  EXPECT_EQ(store.names(), want_names);
  for (const auto& [nm, want] : tensors) {
    SCOPED_TRACE(nm);
    ASSERT_TRUE(store.contains(nm));
    EXPECT_TRUE(torch::equal(store.tensor(nm), want));
    EXPECT_EQ(fs::path(store.file_of(nm)).filename().string(), index["weight_map"][nm].get<std::string>());
    EXPECT_EQ(store.info(nm).shape, want.sizes().vec());
  }
  EXPECT_FALSE(store.contains("nope"));
  EXPECT_THROW(store.tensor("nope"), arlt::Error);
}

TEST_F(SafetensorsIo, UnshardedModelWeightsAreOneFile) {
  const NamedTensors tensors = model_tensors();
  arlt::io::write_model_weights(dir_.string(), tensors, 0);
  EXPECT_TRUE(fs::exists(dir_ / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors.index.json"));
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().extension() == ".safetensors") ++n;
  EXPECT_EQ(n, 1);
  const TensorStore store = TensorStore::open_folder(dir_.string());
  ASSERT_EQ(store.files().size(), 1u);
  for (const auto& [nm, want] : tensors) {
    SCOPED_TRACE(nm);
    EXPECT_TRUE(torch::equal(store.tensor(nm), want));
  }
}

TEST_F(SafetensorsIo, RewritingUnshardedReplacesTheIndex) {
  const NamedTensors tensors = model_tensors();
  arlt::io::write_model_weights(dir_.string(), tensors, 8000);
  ASSERT_TRUE(fs::exists(dir_ / "model.safetensors.index.json"));
  arlt::io::write_model_weights(dir_.string(), tensors, 0);
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors.index.json"));
  const TensorStore store = TensorStore::open_folder(dir_.string());
  ASSERT_EQ(store.files().size(), 1u);
  EXPECT_EQ(fs::path(store.files()[0]->path()).filename().string(), "model.safetensors");
  EXPECT_EQ(store.names().size(), tensors.size());
}

// ---- malformed files ---------------------------------------------------------------------

TEST_F(SafetensorsIo, HandWrittenValidFileOpens) {
  // A control for the bad-input tests below: the helper makes files the reader accepts.
  const std::string p = path("ok.safetensors");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})", 8);
  auto f = SafeTensorsFile::open(p);
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->metadata().at("k"), "v");
  EXPECT_TRUE(torch::equal(f->tensor("a"), torch::zeros({2})));
}

TEST_F(SafetensorsIo, RejectsMissingFile) {
  expect_error([&] { SafeTensorsFile::open(path("nosuch.safetensors")); }, {path("nosuch.safetensors")});
}

TEST_F(SafetensorsIo, RejectsFileShorterThanEightBytes) {
  const std::string p = path("short.safetensors");
  spit(p, "abc");
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "too short"});
}

TEST_F(SafetensorsIo, RejectsEmptyFile) {
  const std::string p = path("empty.safetensors");
  spit(p, "");
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "too short"});
}

TEST_F(SafetensorsIo, RejectsHeaderLengthPastEndOfFile) {
  const std::string p = path("long.safetensors");
  write_raw(p, "{}", 0, 1000);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "header length 1000"});
}

TEST_F(SafetensorsIo, RejectsHugeHeaderLengthWithoutOverflow) {
  const std::string p = path("huge.safetensors");
  write_raw(p, "{}", 0, ~0ull);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "header length"});
}

TEST_F(SafetensorsIo, RejectsHeaderThatIsNotJson) {
  const std::string p = path("notjson.safetensors");
  write_raw(p, "{this is not json", 0);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "JSON"});
}

TEST_F(SafetensorsIo, RejectsHeaderThatIsNotAnObject) {
  const std::string p = path("array.safetensors");
  write_raw(p, "[1, 2, 3]", 0);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "not a JSON object"});
}

TEST_F(SafetensorsIo, RejectsUnknownDtype) {
  const std::string p = path("f7.safetensors");
  write_raw(p, R"({"weird":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "weird", "F7"});
}

TEST_F(SafetensorsIo, RejectsMissingDtype) {
  const std::string p = path("nodtype.safetensors");
  write_raw(p, R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "dtype"});
}

TEST_F(SafetensorsIo, RejectsMissingShape) {
  const std::string p = path("noshape.safetensors");
  write_raw(p, R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "shape"});
}

TEST_F(SafetensorsIo, RejectsTruncatedData) {
  const std::string p = path("trunc.safetensors");
  arlt::io::write_safetensors(p, {{"first", torch::randn({4})}, {"last", torch::randn({16})}});
  ASSERT_NO_THROW(SafeTensorsFile::open(p));
  fs::resize_file(p, fs::file_size(p) - 4);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "last", "outside"});
}

TEST_F(SafetensorsIo, RejectsShapeThatDisagreesWithByteSpan) {
  const std::string p = path("span.safetensors");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "12 bytes", "span 8"});
}

TEST_F(SafetensorsIo, RejectsOverlappingTensors) {
  const std::string p = path("overlap.safetensors");
  write_raw(p,
            R"({"alpha":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("beta":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            12);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "alpha", "beta", "overlap"});
}

TEST_F(SafetensorsIo, RejectsTensorsSharingTheSameBytes) {
  const std::string p = path("alias.safetensors");
  write_raw(p,
            R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("y":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
            8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'x'", "'y'", "overlap"});
}

TEST_F(SafetensorsIo, RejectsOverlapHiddenBehindAnEmptyTensor) {
  // a spans [0,100); the empty b sits inside it; c at [50,60) overlaps a, not its neighbour b.
  const std::string p = path("hidden_overlap.safetensors");
  write_raw(p,
            R"({"a":{"dtype":"U8","shape":[100],"data_offsets":[0,100]},)"
            R"("b":{"dtype":"U8","shape":[0],"data_offsets":[10,10]},)"
            R"("c":{"dtype":"U8","shape":[10],"data_offsets":[50,60]}})",
            100);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "'c'", "overlap"});
}

TEST_F(SafetensorsIo, RejectsNegativeShapeEntry) {
  const std::string p = path("neg.safetensors");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[-1, 2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "shape"});
}

TEST_F(SafetensorsIo, RejectsBeginAfterEnd) {
  const std::string p = path("backwards.safetensors");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "[8, 4]"});
}

TEST_F(SafetensorsIo, RejectsNegativeDataOffsets) {
  const std::string p = path("negoff.safetensors");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 8);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "'a'", "data_offsets"});
}

TEST_F(SafetensorsIo, RejectsNonStringMetadata) {
  const std::string p = path("meta.safetensors");
  write_raw(p, R"({"__metadata__":{"n":3}})", 0);
  expect_error([&] { SafeTensorsFile::open(p); }, {p, "__metadata__"});
}

// ---- TensorStore::open_folder errors -----------------------------------------------------

void write_index(const fs::path& dir, const json& weight_map) {
  spit(dir / "model.safetensors.index.json", json{{"metadata", {{"total_size", 8}}}, {"weight_map", weight_map}}.dump());
}

TEST_F(SafetensorsIo, FolderWithoutWeightsThrows) {
  expect_error([&] { TensorStore::open_folder(dir_.string()); }, {dir_.string(), "no model.safetensors"});
}

TEST_F(SafetensorsIo, IndexNamingMissingShardThrows) {
  write_index(dir_, {{"w", "model-00001-of-00002.safetensors"}});
  expect_error([&] { TensorStore::open_folder(dir_.string()); },
               {"model.safetensors.index.json", "model-00001-of-00002.safetensors", "does not exist"});
}

TEST_F(SafetensorsIo, IndexNamingTensorTheShardLacksThrows) {
  arlt::io::write_safetensors(path("shard.safetensors"), {{"w", torch::randn({2})}});
  write_index(dir_, {{"w", "shard.safetensors"}, {"ghost", "shard.safetensors"}});
  expect_error([&] { TensorStore::open_folder(dir_.string()); },
               {"model.safetensors.index.json", "ghost", "shard.safetensors"});
}

TEST_F(SafetensorsIo, IndexWithPathInWeightMapThrows) {
  fs::create_directories(dir_ / "sub");
  arlt::io::write_safetensors((dir_ / "sub/shard.safetensors"), {{"w", torch::randn({2})}});
  write_index(dir_, {{"w", "sub/shard.safetensors"}});
  expect_error([&] { TensorStore::open_folder(dir_.string()); },
               {"model.safetensors.index.json", "sub/shard.safetensors", "not a plain file name"});
}

TEST_F(SafetensorsIo, IndexEscapingTheFolderThrows) {
  write_index(dir_, {{"w", "../elsewhere.safetensors"}});
  expect_error([&] { TensorStore::open_folder(dir_.string()); },
               {"model.safetensors.index.json", "../elsewhere.safetensors"});
}

TEST_F(SafetensorsIo, IndexWithoutWeightMapThrows) {
  spit(dir_ / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_error([&] { TensorStore::open_folder(dir_.string()); }, {"model.safetensors.index.json", "weight_map"});
}

TEST_F(SafetensorsIo, CorruptShardInFolderNamesTheShard) {
  write_raw(dir_ / "model.safetensors", "{}", 0, 1000);
  expect_error([&] { TensorStore::open_folder(dir_.string()); }, {path("model.safetensors"), "header length"});
}

}  // namespace
