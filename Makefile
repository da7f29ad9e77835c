# The two commands of the README:
#   make demo   — set up, build, and run the offline demo (sluice demo)
#   make test   — set up, build, and run every test: once normally, once under ASan+UBSan
# Both install what they need first (scripts/setup.sh: Debian packages, DuckDB through npm).
SHELL := /bin/bash
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
JOBS ?= $(shell nproc)

.PHONY: all setup build test test-fast test-sanitize fuzz demo bench format clean

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
	@$(MAKE) --no-print-directory fuzz

# The libFuzzer targets (SigV4, aws-chunked, JSON 1.1 dispatch, S3 XML), each for FUZZ_SECONDS over its
# checked-in seed corpus (fuzz/corpus/), built with clang in a directory of their own.
fuzz: setup
	@if [ ! -f $(FUZZ_BUILD)/build.ninja ]; then \
	  cmake -S . -B $(FUZZ_BUILD) -G Ninja -DDUCKDB_ROOT="$$(scripts/setup.sh | tail -n1)" -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 -DSLUICE_FUZZ=ON \
	    -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF > /dev/null; fi
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

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
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)
