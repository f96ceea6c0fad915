# workerpool.h build. `make demo` and `make test` need only a C compiler and make.
#   make test            every test, on the C11 and the pthreads backend
#   make test CC=clang   the same with clang
#   make test-tsan       the suite under ThreadSanitizer (pthreads backend)
#   make test-asan       the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-formats    the stats formatters' JSON and Prometheus output checked by
#                        python3's json module and promtool (Debian: prometheus)
#   make examples        build every example; make demo runs the backpressure demo
#   make examples-check  run every example and check its output
#   make bench           workerpool.h against other pools (bench/README.md); BENCH_PASSES=5
#   make bench-smoke     every bench contender and workload once, tiny sizes (< 1 min)
#   make bench-forkjoin  parallel_for, SAXPY, fib and a frame against OpenMP and
#                        oneTBB (bench/forkjoin.sh; BENCH_THREADS, BENCH_PASSES)
#   make bench-tools     pool_bench (empty_1p2w alone) and scale_bench
#   make bench-callgrind instructions per empty job (valgrind); BENCH_BASE=<commit> compares
#   make install         workerpool.h, workerpool.pc and the CMake package under
#                        $(DESTDIR)$(PREFIX); make uninstall removes them again
# Portability (each needs more tools; see tests/README.md):
#   make test-std        the suite under -std=c11, -std=c17 and -std=c2x
#   make test-musl       the suite built with musl-gcc
#   make test-windows    the suite cross-compiled with MinGW-w64, run under wine
#   make test-cpp        the header from C++11 and C++17 callers
#   make test-linkage    WORKERPOOL_STATIC in two units; a shared-library build
#   make test-packaging  make install/uninstall, cmake --install/uninstall, and
#                        pkg-config, CMake and Meson consumers (needs cmake,
#                        pkg-config, meson, ninja)
#   make test-portability  all of the above
# Reliability (see tests/README.md):
#   make stress          the stress matrix with exact accounting (full: minutes)
#   make stress-ci       a bounded subset of it (under 4 minutes)
#   make stress-tsan     a reduced matrix under ThreadSanitizer (pthreads backend)
#   make stress-asan     a reduced matrix under ASan+UBSan+LSan
#   make test-faketime   bounded waits with the wall clock shifted (needs faketime)
#   make test-cross      the suite for aarch64, armhf, i686 under qemu-user
#   make model           spin checks the Promela models in tests/model (and
#                        that their broken variants fail); needs spin
#   make fuzz            libFuzzer on tests/fuzz (clang; FUZZ_SECONDS=60 per
#                        target), after replaying the seed corpus with $(CC)
#   make fuzz-replay     only replay the seed corpus (any compiler)
#   make soak            a long mixed run (SECONDS=60; CI: SECONDS=120)
# Past one machine (examples/jetstream/README.md; needs nats-server, libnats-dev,
# libsqlite3-dev):
#   make test-jetstream  3 worker processes on a real NATS JetStream queue,
#                        one killed, one stopped: nothing lost (< 6 min)
#   make bench-jetstream messages/s for 1, 2, 3 processes, queue capacity swept

CC      ?= cc
PREFIX  ?= /usr/local
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share
PKGCONFIGDIR ?= $(DATADIR)/pkgconfig
CMAKEDIR     ?= $(DATADIR)/cmake/workerpool
STRICT  := -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror
OPT     ?= -O2 -g
LDLIBS  := -pthread
BUILD   := build/$(notdir $(firstword $(CC)))

TEST_NAMES    := $(notdir $(basename $(wildcard tests/test_*.c)))
EXAMPLE_NAMES := $(notdir $(basename $(wildcard examples/*.c)))
BENCH_NAMES   := $(notdir $(basename $(wildcard bench/*.c)))
HEADERS       := workerpool.h $(wildcard tests/*.h)

comma := ,

# One build directory per flavour of the test suite.
#   $(1): flavour name   $(2): extra compiler flags
#   $(3): compiler (default $(CC))   $(4): build directory (default $(BUILD)/$(1))
#   $(5): suffix of the binaries (.exe for Windows)
# The compiler and directory are fixed when the flavour is defined.
define test_flavour
$(1)_DIR := $(or $(4),$(BUILD)/$(1))
$(1)_CC := $(or $(3),$(CC))
$$($(1)_DIR)/%$(5): tests/%.c $(HEADERS)
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(STRICT) $(2) -I. -Itests $$< -o $$@ $$(LDLIBS)
$(1)_BINS := $$(addprefix $$($(1)_DIR)/,$$(addsuffix $(5),$(TEST_NAMES)))
endef

# make test: C11 threads parking on the OS's address wait (futex), and
# pthreads parking on the mutex + condition variable fallback; TSan and the
# portability flavours take the address wait.
$(eval $(call test_flavour,c11,$(OPT) -DWP_THREADS_C11))
$(eval $(call test_flavour,pthread,$(OPT) -DWP_THREADS_PTHREAD -DWP_PARK_CONDVAR))
$(eval $(call test_flavour,tsan,-O1 -g -fsanitize=thread -DWP_THREADS_PTHREAD))
$(eval $(call test_flavour,asan,-O1 -g -fno-omit-frame-pointer -fsanitize=address$(comma)undefined -fno-sanitize-recover=all))

# Other C standards (the last -std wins over the one in STRICT).
STDS := c17 c2x
$(foreach s,$(STDS),$(eval $(call test_flavour,$(s)_c11,$(OPT) -std=$(s) -DWP_THREADS_C11)))
$(foreach s,$(STDS),$(eval $(call test_flavour,$(s)_pthread,$(OPT) -std=$(s) -DWP_THREADS_PTHREAD)))

# musl: musl-gcc (Debian's musl-tools) wraps gcc with musl's headers and libc.
MUSL_CC ?= musl-gcc
$(eval $(call test_flavour,musl_c11,$(OPT) -DWP_THREADS_C11,$(MUSL_CC),build/musl/c11))
$(eval $(call test_flavour,musl_pthread,$(OPT) -DWP_THREADS_PTHREAD,$(MUSL_CC),build/musl/pthread))

# Windows: MinGW-w64 (Debian's gcc-mingw-w64-x86-64), run under wine. The
# library takes its Win32 backend by itself; the tests use MinGW's winpthreads
# for their own threads and clocks. A second flavour forces the pthreads
# backend onto winpthreads, parking on its condition variables instead of
# WaitOnAddress. Static, so that no MinGW DLL has to be found; WaitOnAddress
# is in Synchronization.lib (-lsynchronization).
MINGW_CC    ?= x86_64-w64-mingw32-gcc
WINE        ?= wine
WINEPREFIX  ?= $(CURDIR)/build/wine
WIN_FLAGS   := $(OPT) -D__USE_MINGW_ANSI_STDIO=1 -static
WINE_RUN    := WINEDEBUG=-all WINEPREFIX=$(WINEPREFIX) $(WINE)
$(eval $(call test_flavour,win32,$(WIN_FLAGS),$(MINGW_CC),build/mingw/win32,.exe))
$(eval $(call test_flavour,winpthread,$(WIN_FLAGS) -DWP_THREADS_PTHREAD -DWP_PARK_CONDVAR,$(MINGW_CC),build/mingw/pthread,.exe))
build/mingw/%: LDLIBS += -lsynchronization

.PHONY: all test check test-c11 test-pthread test-tsan test-asan test-formats examples examples-check demo bench bench-smoke bench-forkjoin bench-tools bench-callgrind \
        test-std test-musl test-windows test-cpp test-linkage test-packaging test-portability \
        stress stress-ci stress-tsan stress-asan test-faketime test-cross \
        model fuzz fuzz-replay soak install uninstall clean

all: $(c11_BINS) examples

# The test binaries are built in parallel (each is one compile, about 80 %
# of a serial `make test`), then run one at a time (their timings must not
# compete). NPROC=1 builds them one by one.
NPROC ?= $(shell nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
PAR_BUILD = $(MAKE) --no-print-directory -j$(NPROC)

test:
	@$(PAR_BUILD) $(c11_BINS) $(pthread_BINS)
	@sh tests/run.sh $(c11_BINS) $(pthread_BINS)

check: test

test-c11: $(c11_BINS)
	@sh tests/run.sh $^

test-pthread: $(pthread_BINS)
	@sh tests/run.sh $^

test-tsan:
	@$(PAR_BUILD) $(tsan_BINS)
	@WP_TEST_SCALE=tsan TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" sh tests/run.sh $(tsan_BINS)

test-asan:
	@$(PAR_BUILD) $(asan_BINS)
	@WP_TEST_SCALE=asan ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" sh tests/run.sh $(asan_BINS)

# The formatters' output from a real pool, validated by real parsers.
$(BUILD)/observability/emit: tests/observability/emit.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. $< -o $@ $(LDLIBS)

test-formats: $(BUILD)/observability/emit
	@sh tests/observability/check.sh $<

$(BUILD)/examples/%: examples/%.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. $< -o $@ $(LDLIBS) -lm

examples: $(addprefix $(BUILD)/examples/,$(EXAMPLE_NAMES))

# Every example run and its output checked (.ci/examples-check.sh).
examples-check:
	@CC="$(CC)" bash .ci/examples-check.sh

demo: $(BUILD)/examples/backpressure
	./$(BUILD)/examples/backpressure

$(BUILD)/bench/%: bench/%.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) -O2 -g -DNDEBUG -I. $< -o $@ $(LDLIBS)

# The harness builds its contenders itself (each against its own library,
# installing the Debian packages when run as root) and skips absent ones.
BENCH_PASSES ?= 5
bench:
	@CC="$(CC)" CXX="$(CXX)" BENCH_PASSES="$(BENCH_PASSES)" sh bench/run.sh
	@CC="$(CC)" CXX="$(CXX)" BENCH_PASSES="$(BENCH_PASSES)" sh bench/forkjoin.sh

# The fork-join smoke run goes first: its "forkjoin: N passed, N failed"
# line stops make when it fails, else the harness's "bench:" line is the last.
bench-smoke:
	@CC="$(CC)" CXX="$(CXX)" sh bench/forkjoin.sh --smoke
	@CC="$(CC)" CXX="$(CXX)" sh bench/run.sh --smoke

# Fork-join against OpenMP and oneTBB (bench/forkjoin.md).
bench-forkjoin:
	@CC="$(CC)" CXX="$(CXX)" BENCH_PASSES="$(BENCH_PASSES)" sh bench/forkjoin.sh

bench-tools: $(addprefix $(BUILD)/bench/,$(BENCH_NAMES))
	@for b in $^; do ./$$b || exit 1; done

# Instructions per empty job (callgrind); BENCH_BASE=<commit> adds that header.
bench-callgrind:
	@CC="$(CC)" sh bench/callgrind.sh $(BENCH_BASE)

# --- portability ------------------------------------------------------------

STD_BINS := $(c11_BINS) $(pthread_BINS) $(foreach s,$(STDS),$($(s)_c11_BINS) $($(s)_pthread_BINS))

test-std: $(STD_BINS)
	@sh tests/run.sh $^

test-musl: $(musl_c11_BINS) $(musl_pthread_BINS)
	@sh tests/run.sh $^

# Windows extras: the examples (built; quickstart also run), and the
# implementation as workerpool.dll with a program linked against it.
WIN_DIR := build/mingw
$(WIN_DIR)/examples/%.exe: examples/%.c workerpool.h
	@mkdir -p $(@D)
	$(MINGW_CC) $(STRICT) $(WIN_FLAGS) -I. $< -o $@ $(LDLIBS)

$(WIN_DIR)/dll/workerpool.dll: tests/linkage/impl.c workerpool.h
	@mkdir -p $(@D)
	$(MINGW_CC) $(STRICT) $(WIN_FLAGS) -shared -I. $< -o $@ \
		-Wl,--out-implib,$(WIN_DIR)/dll/libworkerpool.dll.a $(LDLIBS)

$(WIN_DIR)/dll/shared_main.exe: tests/linkage/shared_main.c $(WIN_DIR)/dll/workerpool.dll $(HEADERS) tests/linkage/roundtrip.h
	$(MINGW_CC) $(STRICT) $(WIN_FLAGS) -I. -Itests $< -o $@ $(WIN_DIR)/dll/libworkerpool.dll.a $(LDLIBS)

# http_server and metrics speak POSIX sockets only: not built for Windows.
POSIX_ONLY_EXAMPLES := http_server metrics
WIN_EXAMPLES := $(addprefix $(WIN_DIR)/examples/,$(addsuffix .exe,$(filter-out $(POSIX_ONLY_EXAMPLES),$(EXAMPLE_NAMES))))

test-windows: $(win32_BINS) $(winpthread_BINS) $(WIN_DIR)/dll/shared_main.exe $(WIN_EXAMPLES)
	@command -v $(WINE) >/dev/null || { echo "test-windows: $(WINE) not found (Debian: apt-get install wine wine64)"; exit 1; }
	@echo "wine: $$($(WINE_RUN) --version 2>/dev/null); prefix $(WINEPREFIX)"
	@mkdir -p $(WINEPREFIX) && $(WINE_RUN) wineboot --init >/dev/null 2>&1; true
	@$(WINE_RUN) $(WIN_DIR)/examples/quickstart.exe >/dev/null || { echo "quickstart.exe failed under wine"; exit 1; }
	@WINEDEBUG=-all WINEPREFIX=$(WINEPREFIX) WP_TEST_RUNNER=$(WINE) \
		sh tests/run.sh $(win32_BINS) $(winpthread_BINS) $(WIN_DIR)/dll/shared_main.exe

# C++ callers: the header from C++, the implementation compiled as C.
CXX_STRICT := -Wall -Wextra -Wpedantic -Wshadow -Werror
CPP_STDS   := c++11 c++17
$(BUILD)/cpp/impl.o: tests/linkage/impl.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. -c $< -o $@

$(BUILD)/cpp/caller-%: tests/cpp/caller.cpp $(BUILD)/cpp/impl.o workerpool.h
	$(CXX) -std=$* $(CXX_STRICT) $(OPT) -I. $< $(BUILD)/cpp/impl.o -o $@ $(LDLIBS)

test-cpp: $(addprefix $(BUILD)/cpp/caller-,$(CPP_STDS))
	@sh tests/run.sh $^

# Linkage: WORKERPOOL_STATIC in two units of one program, and the
# implementation as a shared library.
LINK_DIR := $(BUILD)/linkage
$(LINK_DIR)/static_%.o: tests/linkage/static_%.c $(HEADERS) $(wildcard tests/linkage/*.h)
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. -Itests -c $< -o $@

$(LINK_DIR)/static_test: tests/linkage/static_main.c $(LINK_DIR)/static_a.o $(LINK_DIR)/static_b.o $(HEADERS)
	$(CC) $(STRICT) $(OPT) -I. -Itests $< $(LINK_DIR)/static_a.o $(LINK_DIR)/static_b.o -o $@ $(LDLIBS)

$(LINK_DIR)/libworkerpool.so: tests/linkage/impl.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -fPIC -shared -I. $< -o $@ $(LDLIBS)

$(LINK_DIR)/shared_test: tests/linkage/shared_main.c $(LINK_DIR)/libworkerpool.so $(HEADERS) tests/linkage/roundtrip.h
	$(CC) $(STRICT) $(OPT) -I. -Itests $< -o $@ -L$(LINK_DIR) -lworkerpool -Wl,-rpath,'$$ORIGIN' $(LDLIBS)

# The static units define no global symbol of the library, and the shared
# library exports exactly the functions declared WP_API, nothing else.
test-linkage: $(LINK_DIR)/static_test $(LINK_DIR)/shared_test
	@if nm $(LINK_DIR)/static_a.o $(LINK_DIR)/static_b.o | grep -E ' [A-TV-Z] ' | grep -v ' unit_[ab]_'; then \
		echo "!! the WORKERPOOL_STATIC units export more than their own functions"; exit 1; fi; \
		echo "ok  the WORKERPOOL_STATIC units export no symbol of the library"
	@api=$$(sed -n 's/^WP_API [^(]*[ *]\(wp_[a-z][a-z_]*\)(.*/\1/p' workerpool.h | sort -u | tr '\n' ' '); \
		exported=$$(nm -D --defined-only $(LINK_DIR)/libworkerpool.so | awk '{ print $$3 }' | sort -u | tr '\n' ' '); \
		if [ "$$exported" != "$$api" ]; then \
			echo "!! libworkerpool.so exports: $$exported"; echo "!! the header declares: $$api"; exit 1; fi; \
		echo "ok  libworkerpool.so exports the $$(echo $$api | wc -w) WP_API functions and nothing else"
	@sh tests/run.sh $(LINK_DIR)/static_test $(LINK_DIR)/shared_test

test-packaging:
	@CC="$(CC)" sh tests/packaging/run.sh

test-portability: test-std test-musl test-windows test-cpp test-linkage test-packaging

# NATS JetStream work-queue nodes: targets jetstream, test-jetstream, bench-jetstream.
include examples/jetstream/jetstream.mk

# --- reliability --------------------------------------------------------------

# The stress matrix (tests/stress/matrix.c): one binary per backend/sanitizer.
STRESS_DIR := $(BUILD)/stress
$(STRESS_DIR)/matrix-c11: tests/stress/matrix.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -DWP_THREADS_C11 -I. -Itests $< -o $@ $(LDLIBS)
$(STRESS_DIR)/matrix-pthread: tests/stress/matrix.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -DWP_THREADS_PTHREAD -I. -Itests $< -o $@ $(LDLIBS)
$(STRESS_DIR)/matrix-tsan: tests/stress/matrix.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(STRICT) -O1 -g -fsanitize=thread -DWP_THREADS_PTHREAD -I. -Itests $< -o $@ $(LDLIBS)
$(STRESS_DIR)/matrix-asan: tests/stress/matrix.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(STRICT) -O1 -g -fno-omit-frame-pointer -fsanitize=address$(comma)undefined -fno-sanitize-recover=all \
		-I. -Itests $< -o $@ $(LDLIBS)

# The full matrix on both backends; STRESS_JOBS sets the jobs per cell.
STRESS_JOBS ?=
stress: $(STRESS_DIR)/matrix-c11 $(STRESS_DIR)/matrix-pthread
	@sh tests/stress/run.sh full "$(STRESS_JOBS)" $^

stress-ci: $(STRESS_DIR)/matrix-c11 $(STRESS_DIR)/matrix-pthread
	@sh tests/stress/run.sh ci "$(STRESS_JOBS)" $^

stress-tsan: $(STRESS_DIR)/matrix-tsan
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" sh tests/stress/run.sh reduced "$(STRESS_JOBS)" $^

stress-asan: $(STRESS_DIR)/matrix-asan
	@ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
		sh tests/stress/run.sh reduced "$(STRESS_JOBS)" $^

# Clock jumps: tests/clock/waits under libfaketime, on both backends.
CLOCK_DIR := $(BUILD)/clock
$(CLOCK_DIR)/waits-c11: tests/clock/waits.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -DWP_THREADS_C11 -I. -Itests $< -o $@ $(LDLIBS)
$(CLOCK_DIR)/waits-pthread: tests/clock/waits.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -DWP_THREADS_PTHREAD -I. -Itests $< -o $@ $(LDLIBS)

test-faketime: $(CLOCK_DIR)/waits-c11 $(CLOCK_DIR)/waits-pthread
	@sh tests/clock/faketime.sh $^

# Other architectures: Debian's cross compilers, static binaries run under
# qemu-user (-L: the target's libraries, for the dynamic loader of anything
# not static). CROSS_SCALE shrinks the stress sizes, since emulation is slow.
CROSS_ARCHS  := aarch64 armhf i686
CROSS_SCALE  ?= 0.1
aarch64_TRIPLE := aarch64-linux-gnu
armhf_TRIPLE   := arm-linux-gnueabihf
i686_TRIPLE    := i686-linux-gnu
aarch64_QEMU   := qemu-aarch64
armhf_QEMU     := qemu-arm
i686_QEMU      := qemu-i386
$(foreach a,$(CROSS_ARCHS),$(eval $(call test_flavour,$(a)_c11,$(OPT) -static -DWP_THREADS_C11,$($(a)_TRIPLE)-gcc,build/cross/$(a)/c11)))
$(foreach a,$(CROSS_ARCHS),$(eval $(call test_flavour,$(a)_pthread,$(OPT) -static -DWP_THREADS_PTHREAD,$($(a)_TRIPLE)-gcc,build/cross/$(a)/pthread)))
CROSS_BINS := $(foreach a,$(CROSS_ARCHS),$($(a)_c11_BINS) $($(a)_pthread_BINS))

test-cross: $(CROSS_BINS)
	@WP_TEST_SCALE=$(CROSS_SCALE) sh tests/cross/run.sh \
		$(foreach a,$(CROSS_ARCHS),"$($(a)_QEMU) -L /usr/$($(a)_TRIPLE)" "$($(a)_c11_BINS) $($(a)_pthread_BINS)")
# --- reliability: model checking, fuzzing, soak ------------------------------

# Promela models, checked exhaustively by spin (Debian package spin); the
# script builds each pan with $(CC) and ends with "model: N passed, N failed".
model:
	@CC="$(CC)" nice sh tests/model/run.sh build/model

# libFuzzer targets (clang with libclang-rt-14-dev), and the same sources as
# plain replay programs that run the seed corpus with any compiler.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := fuzz_queue fuzz_pool
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz_main.h workerpool.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(STRICT) $(FUZZ_FLAGS) -I. -Itests/fuzz $< -o $@ $(LDLIBS)

$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/fuzz_main.h workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -DWP_FUZZ_REPLAY -I. -Itests/fuzz $< -o $@ $(LDLIBS)

FUZZ_REPLAY_BINS := $(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_NAMES))

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@passed=0; failed=0; for t in $(FUZZ_NAMES); do \
		if ./$(BUILD)/fuzz-replay/$$t tests/fuzz/corpus/$$t; then passed=$$((passed + 1)); \
		else failed=$$((failed + 1)); echo "!! $$t: replay failed"; fi; done; \
		echo "fuzz-replay: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

# Fuzzes each target for FUZZ_SECONDS, starting from the seed corpus (new
# inputs go to build/fuzz/corpus, the seeds stay as they are). A crash
# leaves its input in build/fuzz/ (crash-*) and fails the target.
fuzz: $(FUZZ_REPLAY_BINS) $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
	@passed=0; failed=0; for t in $(FUZZ_NAMES); do \
		if ./$(BUILD)/fuzz-replay/$$t tests/fuzz/corpus/$$t >/dev/null; then passed=$$((passed + 1)); \
		else failed=$$((failed + 1)); echo "!! $$t: corpus replay ($(CC)) failed"; fi; \
		mkdir -p $(FUZZ_DIR)/corpus/$$t; \
		log=$(FUZZ_DIR)/$$t.log; \
		if (cd $(FUZZ_DIR) && nice ./$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
				-artifact_prefix=./ corpus/$$t ../../tests/fuzz/corpus/$$t) >$$log 2>&1; then \
			passed=$$((passed + 1)); \
			echo "ok  $$t: $$(sed -n 's/^stat::number_of_executed_units: *//p' $$log) executions in $(FUZZ_SECONDS) s," \
				"$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log) exec/s," \
				"corpus $$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) inputs"; \
		else failed=$$((failed + 1)); echo "!! $$t: the fuzzer found a failure"; tail -n 40 $$log; fi; \
	done; echo "fuzz: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

SECONDS ?= 60
$(BUILD)/soak/soak: tests/soak/soak.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. $< -o $@ $(LDLIBS)

soak: $(BUILD)/soak/soak
	./$(BUILD)/soak/soak $(SECONDS)

# --- install ----------------------------------------------------------------
# make install writes workerpool.h, workerpool.pc and the CMake package
# (workerpoolConfig.cmake, workerpoolConfigVersion.cmake: the INTERFACE IMPORTED
# target workerpool::workerpool) from the templates in packaging/, which
# `cmake --install` uses too, so both routes install the same files. The .pc
# names this PREFIX; the CMake package finds the header relative to itself, so
# a DESTDIR-staged or moved tree works. The directories an install creates are
# noted in $(INSTALL_DIRS) for make uninstall (make clean forgets them).

VERSION = $(shell sed -n 's/^.define WORKERPOOL_VERSION "\(.*\)"$$/\1/p' workerpool.h)
INSTALL_DIRS = build/install-dirs.txt
INSTALLED = $(INCLUDEDIR)/workerpool.h $(PKGCONFIGDIR)/workerpool.pc \
            $(CMAKEDIR)/workerpoolConfig.cmake $(CMAKEDIR)/workerpoolConfigVersion.cmake

# The include directory as workerpool.pc and workerpoolConfig.cmake name it:
# under ${prefix}, and relative to the CMake package's directory, when it lies
# under PREFIX (as packaging/install.cmake computes them for cmake --install).
wp_empty :=
wp_space := $(wp_empty) $(wp_empty)
wp_under  = $(patsubst $(PREFIX)/%,%,$(filter $(PREFIX)/%,$(1)))
wp_up     = $(subst $(wp_space),/,$(strip $(patsubst %,..,$(subst /, ,$(1)))))
wp_inc    = $(call wp_under,$(INCLUDEDIR))
wp_cmk    = $(call wp_under,$(CMAKEDIR))
WP_PC_INCLUDEDIR = $(if $(wp_inc),$${prefix}/$(wp_inc),$(INCLUDEDIR))
WP_CMAKE_INCLUDEDIR = $(if $(and $(wp_inc),$(wp_cmk)),$${CMAKE_CURRENT_LIST_DIR}/$(call wp_up,$(wp_cmk))/$(wp_inc),$(INCLUDEDIR))

install:
	@test -n "$(VERSION)" || { echo "install: no WORKERPOOL_VERSION in workerpool.h" >&2; exit 1; }
	@sh packaging/install-dirs.sh note $(INSTALL_DIRS) "$(DESTDIR)" $(INCLUDEDIR) $(PKGCONFIGDIR) $(CMAKEDIR)
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR)
	install -m 644 workerpool.h $(DESTDIR)$(INCLUDEDIR)/workerpool.h
	@set -e; for f in $(PKGCONFIGDIR)/workerpool.pc $(CMAKEDIR)/workerpoolConfig.cmake \
	                  $(CMAKEDIR)/workerpoolConfigVersion.cmake; do \
		echo "write $(DESTDIR)$$f"; \
		sed -e 's|@WP_VERSION@|$(VERSION)|g' -e 's|@WP_PC_PREFIX@|$(PREFIX)|g' \
		    -e 's|@WP_PC_INCLUDEDIR@|$(WP_PC_INCLUDEDIR)|g' \
		    -e 's|@WP_CMAKE_INCLUDEDIR@|$(WP_CMAKE_INCLUDEDIR)|g' \
		    packaging/$$(basename $$f).in >$(DESTDIR)$$f; \
		chmod 644 $(DESTDIR)$$f; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@sh packaging/install-dirs.sh remove $(INSTALL_DIRS) "$(DESTDIR)" $(INCLUDEDIR) $(PKGCONFIGDIR) $(CMAKEDIR)

clean:
	rm -rf build
