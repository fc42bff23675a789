#include "arlt/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"

namespace arlt::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DtypeEntry {
  const char* name;
  size_t size;
  bool torch_has;
  torch::Dtype torch_dtype;
};

// Safetensors dtypes. The F8 types are recognised (so the error says what they are) but
// libtorch 1.13 has no tensor type for them.
const DtypeEntry kDtypes[] = {
    {"F64", 8, true, torch::kFloat64}, {"F32", 4, true, torch::kFloat32},
    {"F16", 2, true, torch::kFloat16}, {"BF16", 2, true, torch::kBFloat16},
    {"I64", 8, true, torch::kInt64},   {"I32", 4, true, torch::kInt32},
    {"I16", 2, true, torch::kInt16},   {"I8", 1, true, torch::kInt8},
    {"U8", 1, true, torch::kUInt8},    {"BOOL", 1, true, torch::kBool},
    {"F8_E4M3", 1, false, torch::kUInt8}, {"F8_E5M2", 1, false, torch::kUInt8},
};

const DtypeEntry* find_dtype(const std::string& name) {
  for (const auto& e : kDtypes)
    if (name == e.name) return &e;
  return nullptr;
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

size_t dtype_size(const std::string& dtype) {
  const DtypeEntry* e = find_dtype(dtype);
  if (!e) throw Error("unknown safetensors dtype '" + dtype + "'");
  return e->size;
}

torch::Dtype to_torch_dtype(const std::string& dtype) {
  const DtypeEntry* e = find_dtype(dtype);
  if (!e) throw Error("unknown safetensors dtype '" + dtype + "'");
  if (!e->torch_has) throw Error("safetensors dtype '" + dtype + "' is not supported by this libtorch");
  return e->torch_dtype;
}

std::string from_torch_dtype(torch::Dtype dtype) {
  for (const auto& e : kDtypes)
    if (e.torch_has && e.torch_dtype == dtype) return e.name;
  throw Error(std::string("torch dtype ") + c10::toString(dtype) + " has no safetensors equivalent");
}

// ---- reading ------------------------------------------------------------------------------

std::shared_ptr<SafeTensorsFile> SafeTensorsFile::open(const std::string& path) {
  std::shared_ptr<SafeTensorsFile> f(new SafeTensorsFile());
  f->self_ = f;
  f->path_ = path;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(path + ": cannot stat: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw Error(path + ": file is " + std::to_string(file_size) +
                " bytes, too short for a safetensors header (truncated?)");
  }
  // MAP_PRIVATE + PROT_WRITE: tensors handed out may be written to (copy-on-write), never the file.
  void* m = mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw runtime_failure(path + ": mmap failed: " + std::strerror(errno));
  f->map_ = m;
  f->map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(m);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > file_size - 8) {
    throw Error(path + ": header length " + std::to_string(header_len) + " runs past the end of the " +
                std::to_string(file_size) + "-byte file (truncated or not a safetensors file)");
  }
  const uint64_t data_size = file_size - 8 - header_len;
  f->data_ = bytes + 8 + header_len;

  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const json::parse_error& e) {
    throw Error(path + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw Error(path + ": header is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path + ": __metadata__ is not an object");
      for (auto m2 = v.begin(); m2 != v.end(); ++m2) {
        if (!m2.value().is_string())
          throw Error(path + ": __metadata__." + m2.key() + " is not a string");
        f->metadata_[m2.key()] = m2.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object()) throw Error(where + ": entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw Error(where + ": missing string field 'dtype'");
    if (!v.contains("shape") || !v["shape"].is_array()) throw Error(where + ": missing array field 'shape'");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw Error(where + ": 'data_offsets' must be an array [begin, end]");
    TensorInfo info;
    info.name = name;
    info.dtype = v["dtype"].get<std::string>();
    const DtypeEntry* dt = find_dtype(info.dtype);
    if (!dt) {
      throw Error(where + ": unknown dtype '" + info.dtype +
                  "' (expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    }
    // Overflow-checked element count: a hostile shape must not wrap around.
    unsigned __int128 numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        throw Error(where + ": shape " + v["shape"].dump() + " has an entry that is not a non-negative integer");
      info.shape.push_back(d.get<int64_t>());
      numel *= static_cast<uint64_t>(d.get<int64_t>());
      if (numel > (static_cast<unsigned __int128>(1) << 62))
        throw Error(where + ": shape " + v["shape"].dump() + " is impossibly large");
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned())
        throw Error(where + ": data_offsets " + v["data_offsets"].dump() + " are not non-negative integers");
    info.begin = v["data_offsets"][0].get<uint64_t>();
    info.end = v["data_offsets"][1].get<uint64_t>();
    if (info.begin > info.end)
      throw Error(where + ": data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                  "] end before they begin");
    if (info.end > data_size)
      throw Error(where + ": data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                  "] lie outside the " + std::to_string(data_size) + "-byte data section (truncated file?)");
    const unsigned __int128 expected = numel * dt->size;
    if (expected != info.end - info.begin) {
      throw Error(where + ": shape " + v["shape"].dump() + " x " + info.dtype + " needs " +
                  std::to_string(static_cast<uint64_t>(expected)) + " bytes but data_offsets span " +
                  std::to_string(info.end - info.begin));
    }
    f->tensors_.push_back(std::move(info));
  }

  // Overlapping tensors would alias each other's bytes: reject, naming both.
  std::vector<const TensorInfo*> order;
  for (const auto& t : f->tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const TensorInfo* furthest = nullptr;  // the tensor reaching furthest so far
  for (const TensorInfo* b : order) {
    if (b->end == b->begin) continue;  // empty tensors occupy no bytes
    if (furthest && b->begin < furthest->end)
      throw Error(path + ": tensors '" + furthest->name + "' and '" + b->name + "' overlap in the data section");
    if (!furthest || b->end > furthest->end) furthest = b;
  }
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  return f;
}

SafeTensorsFile::~SafeTensorsFile() {
  if (map_) munmap(map_, map_size_);
}

const TensorInfo* SafeTensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

torch::Tensor SafeTensorsFile::tensor(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (!info) throw Error(path_ + ": no tensor named '" + name + "'");
  const DtypeEntry* dt = find_dtype(info->dtype);
  if (!dt->torch_has)
    throw Error(path_ + ": tensor '" + name + "' has dtype " + info->dtype + ", which this libtorch cannot hold");
  auto keep = self_.lock();
  void* ptr = const_cast<uint8_t*>(data_ + info->begin);
  if (info->numel() == 0) return torch::empty(info->shape, torch::TensorOptions().dtype(dt->torch_dtype));
  return torch::from_blob(ptr, info->shape, [keep](void*) {}, torch::TensorOptions().dtype(dt->torch_dtype));
}

// ---- writing ------------------------------------------------------------------------------

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> cpu;
  cpu.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (header.contains(name)) throw Error("write_safetensors(" + path + "): duplicate tensor name '" + name + "'");
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", from_torch_dtype(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    cpu.push_back(std::move(c));
  }
  std::string h = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as Hugging Face does.
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');

  const std::string tmp = temp_path_for(path);
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out) throw runtime_failure(path + ": cannot open for writing: " + std::strerror(errno));
  bool ok = true;
  uint8_t len[8];
  uint64_t hl = h.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(hl >> (8 * i));
  ok = ok && std::fwrite(len, 1, 8, out) == 8;
  ok = ok && std::fwrite(h.data(), 1, h.size(), out) == h.size();
  for (const auto& c : cpu) {
    const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
    if (n) ok = ok && std::fwrite(c.data_ptr(), 1, n, out) == n;
  }
  ok = (std::fclose(out) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw runtime_failure(path + ": write failed: " + std::strerror(errno));
  }
  rename_atomic(tmp, path);
}

// ---- model folders ------------------------------------------------------------------------

TensorStore TensorStore::open_folder(const std::string& dir) {
  TensorStore store;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (!fs::exists(single) && fs::exists(index)) {  // transformers loads model.safetensors first
    json j = read_json_file(index.string());
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index.string() + ": missing object 'weight_map'");
    std::map<std::string, size_t> file_ids;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        throw Error(index.string() + ": weight_map['" + it.key() + "'] is not a file name");
      const std::string file = it.value().get<std::string>();
      if (file.find('/') != std::string::npos || file == ".." )
        throw Error(index.string() + ": weight_map['" + it.key() + "'] = '" + file + "' is not a plain file name");
      if (!file_ids.count(file)) {
        const fs::path p = fs::path(dir) / file;
        if (!fs::exists(p))
          throw Error(index.string() + ": shard '" + file + "' (holding '" + it.key() + "') does not exist");
        file_ids[file] = store.files_.size();
        store.files_.push_back(SafeTensorsFile::open(p.string()));
      }
      const auto& f = store.files_[file_ids[file]];
      if (!f->find(it.key()))
        throw Error(index.string() + ": says '" + it.key() + "' is in " + file + ", but that shard has no such tensor");
      store.where_[it.key()] = file_ids[file];
    }
  } else if (fs::exists(single)) {
    store.files_.push_back(SafeTensorsFile::open(single.string()));
    for (const auto& t : store.files_[0]->tensors()) store.where_[t.name] = 0;
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json in this folder");
  }
  return store;
}

const TensorInfo& TensorStore::info(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error("no tensor named '" + name + "' in the model folder");
  return *files_[it->second]->find(name);
}

torch::Tensor TensorStore::tensor(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error("no tensor named '" + name + "' in the model folder");
  return files_[it->second]->tensor(name);
}

const std::string& TensorStore::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error("no tensor named '" + name + "' in the model folder");
  return files_[it->second]->path();
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : where_) out.push_back(n);
  return out;
}

void write_model_weights(const std::string& dir, NamedTensors tensors, uint64_t max_shard_bytes) {
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t total = 0;
  for (const auto& [_, t] : tensors) total += static_cast<uint64_t>(t.numel()) * t.element_size();
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (max_shard_bytes == 0 || total <= max_shard_bytes) {
    write_safetensors(single.string(), tensors);
    if (fs::exists(index)) fs::remove(index);
    return;
  }
  std::vector<NamedTensors> shards(1);
  uint64_t cur = 0;
  for (auto& nt : tensors) {
    const uint64_t n = static_cast<uint64_t>(nt.second.numel()) * nt.second.element_size();
    if (cur > 0 && cur + n > max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(std::move(nt));
    cur += n;
  }
  char buf[64];
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_safetensors((fs::path(dir) / buf).string(), shards[i]);
    for (const auto& [name, _] : shards[i]) weight_map[name] = buf;
  }
  write_json_file(index.string(), {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}});
  if (fs::exists(single)) fs::remove(single);
}

}  // namespace arlt::io
