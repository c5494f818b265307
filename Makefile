# Thin wrapper around CMake. `make demo` runs the main job; `make test` runs
# the tests (both install missing Debian packages first); `make install
# PREFIX=...` installs the library, headers, CLI, pkg-config / CMake files,
# man page and completion; `make deb` writes $(BUILD)/sgm_<version>_<arch>.deb.
# `make fuzz` runs the libFuzzer harnesses (fuzz/, clang) FUZZ_SECONDS each.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local

FUZZ_SECONDS ?= 300

.PHONY: all deps build test test-asan fuzz demo bench install deb clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSGM_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (fuzz/, clang + ASan + UBSan, build-fuzz): FUZZ_SECONDS each
fuzz: deps
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@for b in $(BUILD)/bench_*; do echo "== $$b"; $$b; done

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

deb: build
	@cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
