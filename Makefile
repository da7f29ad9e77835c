# The two commands of the README:
#   make demo   — set up, build, and run the offline demo (sluice demo)
#   make test   — set up, build, and run every test: once normally, once under ASan+UBSan
# Both install what they need first (scripts/setup.sh: Debian packages, DuckDB through npm).
SHELL := /bin/bash
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)

.PHONY: all setup build test test-fast test-sanitize demo bench format clean

all: build

setup:
	@scripts/setup.sh > /dev/null

build: setup
	@scripts/build.sh $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

test: setup
	@scripts/build.sh $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@scripts/build.sh $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_BUILD_BENCH=OFF
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The unsanitized build and its tests only: for a quick local loop.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	$(BUILD)/src/cli/sluice demo

bench: build
	bench/run.sh $(BUILD)

format:
	find src tests bench \( -name '*.cpp' -o -name '*.h' \) -print0 | xargs -0 clang-format -i

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
