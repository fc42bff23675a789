#include <gtest/gtest.h>
#include <torch/torch.h>

#include "arlt/base/error.h"
#include "arlt/base/runtime.h"

TEST(Runtime, SetsThreadsAndDetectsOpenBlas) {
  const auto& info = arlt::init_runtime();
  EXPECT_GE(info.threads, 1);
  EXPECT_EQ(torch::get_num_threads(), info.threads);
  // setup.sh installs libopenblas0-openmp; a reference BLAS here would make everything 10x slower.
  EXPECT_TRUE(info.blas_is_openblas) << info.blas;
}

TEST(Error, CarriesExitCode) {
  EXPECT_EQ(arlt::Error("bad").exit_code(), 2);
  EXPECT_EQ(arlt::runtime_failure("io").exit_code(), 1);
}
