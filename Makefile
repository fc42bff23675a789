# arlt — the commands of the README. `make test` and `make demo` run set-up first,
# so each works alone on a fresh machine.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=Release

.PHONY: setup configure build test demo bench clean

setup:
	bash scripts/setup.sh

configure:
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS); fi

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: setup
	$(MAKE) build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 1

demo: setup
	$(MAKE) build
	./$(BUILD_DIR)/arlt demo --out runs/demo
	./$(BUILD_DIR)/arlt demo --agent --out runs/demo_agent

bench: setup
	$(MAKE) build
	./$(BUILD_DIR)/bench_forward | tee bench/results/forward.md
	./$(BUILD_DIR)/bench_tokenizer | tee bench/results/tokenizer.md
	./$(BUILD_DIR)/bench_generate | tee bench/results/generate.md
	./$(BUILD_DIR)/bench_linear | tee bench/results/linear.md
	./$(BUILD_DIR)/bench_rl_step | tee bench/results/rl_step.md

clean:
	rm -rf $(BUILD_DIR)
