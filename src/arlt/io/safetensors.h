// safetensors: read (mmap, zero-copy views where the dtype matches) and write (atomic).
// Format: 8-byte little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then data.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace arlt::io {

struct TensorInfo {
  std::string name;
  std::string dtype;            // safetensors spelling: F32, BF16, I64, ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
  int64_t numel() const;
};

// Byte size of one element of a safetensors dtype; throws for an unknown one.
size_t dtype_size(const std::string& dtype);
// torch dtype of a safetensors dtype ("F32" -> kFloat); throws for one torch lacks.
torch::Dtype to_torch_dtype(const std::string& dtype);
std::string from_torch_dtype(torch::Dtype dtype);

class SafeTensorsFile {
 public:
  // Maps and validates the whole header: every problem is an arlt::Error naming the file
  // and the tensor.
  static std::shared_ptr<SafeTensorsFile> open(const std::string& path);
  ~SafeTensorsFile();
  SafeTensorsFile(const SafeTensorsFile&) = delete;
  SafeTensorsFile& operator=(const SafeTensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A CPU tensor viewing the mapped bytes (copy-on-write private mapping: writing to it never
  // touches the file). It keeps the mapping alive.
  torch::Tensor tensor(const std::string& name) const;

 private:
  SafeTensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::weak_ptr<SafeTensorsFile> self_;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes tensors (any device; copied to CPU, made contiguous) to path atomically
// (temp file + rename). Tensors are stored in the order given.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// All tensors of a model folder: model.safetensors, or the shards named by
// model.safetensors.index.json. A tensor name maps to the file holding it.
class TensorStore {
 public:
  static TensorStore open_folder(const std::string& dir);
  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  torch::Tensor tensor(const std::string& name) const;
  const std::string& file_of(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::vector<std::shared_ptr<SafeTensorsFile>>& files() const { return files_; }

 private:
  std::vector<std::shared_ptr<SafeTensorsFile>> files_;
  std::map<std::string, size_t> where_;
};

// Writes a model's weights into dir: one model.safetensors, or shards
// model-0000i-of-0000n.safetensors plus model.safetensors.index.json when the total exceeds
// max_shard_bytes (0 = never shard). Names are sorted, as Hugging Face writes them.
void write_model_weights(const std::string& dir, NamedTensors tensors, uint64_t max_shard_bytes = 0);

}  // namespace arlt::io
