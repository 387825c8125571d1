# Quickstart: 'make run' and 'make test'. Both install missing Debian packages first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
LISTEN     ?= 127.0.0.1:8080
ARGS       ?=
CTEST_ARGS ?= --output-on-failure --timeout 600 -j2
# Sanitizer runtime options for the ASan/UBSan suite.
SAN_ENV    = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	     LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp

.PHONY: all deps lint-deps build build-asan run test test-asan test-fast test-container bench fuzz lint format clean

all: build

deps:
	@scripts/install-deps.sh

# clang-format and shellcheck: for the lint tests (tests/lint/) and 'make lint' only, so 'make run' stays light.
lint-deps: deps
	@scripts/install-deps.sh --lint

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS)

run: build
	$(BUILD)/bin/sessionpool-emulator --listen $(LISTEN) $(ARGS)

# The sanitizer suite runs first, so the last lines printed are the main suite's ctest summary.
test: build build-asan lint-deps
	cd $(ASAN_BUILD) && $(SAN_ENV) ctest $(CTEST_ARGS) -LE no-asan
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-fast: build lint-deps
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-asan: build-asan
	cd $(ASAN_BUILD) && $(SAN_ENV) ctest $(CTEST_ARGS) -LE no-asan

# The image, tested for real (container/test.sh, docs/container.md): its own build directory, where
# the container test is registered (ctest -L container), so 'make test' never runs it.
CONTAINER_BUILD ?= build-container

test-container: deps
	@scripts/install-deps.sh --container
	test -f $(CONTAINER_BUILD)/CMakeCache.txt || \
		cmake -S . -B $(CONTAINER_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_CONTAINER_TESTS=ON
	cmake --build $(CONTAINER_BUILD) -j$(JOBS) --target sessionpool-conformance
	cd $(CONTAINER_BUILD) && ctest -V -L container

# Figures only, never pass/fail (bench/README.md): issues 2 and 3's, then issue 13's table (perf.sh).
bench: build
	@scripts/install-deps.sh --bench
	bench/run-all.sh $(BUILD)
	bench/perf.sh $(BUILD)

# libFuzzer (clang) build of fuzz/, then each target for FUZZ_SECONDS on a copy of its corpus
# (fuzz/README.md). FUZZ_TARGETS="route auth" picks some; FUZZ_MERGE=1 merges new inputs back.
FUZZ_BUILD   ?= build-fuzz-clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst fuzz/corpus/%/,%,$(wildcard fuzz/corpus/*/))

fuzz: deps
	@scripts/install-deps.sh --fuzz
	test -f $(FUZZ_BUILD)/CMakeCache.txt || \
		CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# What CI checks besides the tests (scripts/lint.sh; also the ctest tests lint_format and lint_shell).
lint: lint-deps
	scripts/lint.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
