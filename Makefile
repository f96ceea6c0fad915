# workerpool.h build. `make demo` and `make test` need only a C compiler and make.
#   make test            every test, on the C11 and the pthreads backend
#   make test CC=clang   the same with clang
#   make test-tsan       the suite under ThreadSanitizer (pthreads backend)
#   make test-asan       the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make examples        build every example; make demo runs the backpressure demo
#   make bench           queue throughput benchmark (the pool benchmarks: see bench/README.md)
#   make install         copy workerpool.h to $(DESTDIR)$(PREFIX)/include

CC      ?= cc
PREFIX  ?= /usr/local
STRICT  := -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror
OPT     ?= -O2 -g
LDLIBS  := -pthread
BUILD   := build/$(notdir $(firstword $(CC)))

TEST_NAMES    := $(notdir $(basename $(wildcard tests/test_*.c)))
EXAMPLE_NAMES := $(notdir $(basename $(wildcard examples/*.c)))
BENCH_NAMES   := $(notdir $(basename $(wildcard bench/*.c)))
HEADERS       := workerpool.h $(wildcard tests/*.h)

# One build directory per flavour of the test suite.
#   $(1): flavour name   $(2): extra compiler flags
define test_flavour
$(BUILD)/$(1)/%: tests/%.c $(HEADERS)
	@mkdir -p $$(@D)
	$$(CC) $$(STRICT) $(2) -I. -Itests $$< -o $$@ $$(LDLIBS)
$(1)_BINS := $$(addprefix $(BUILD)/$(1)/,$(TEST_NAMES))
endef

$(eval $(call test_flavour,c11,$(OPT) -DWP_THREADS_C11))
$(eval $(call test_flavour,pthread,$(OPT) -DWP_THREADS_PTHREAD))
$(eval $(call test_flavour,tsan,-O1 -g -fsanitize=thread -DWP_THREADS_PTHREAD))
$(eval $(call test_flavour,asan,-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all))

.PHONY: all test check test-c11 test-pthread test-tsan test-asan examples demo bench install uninstall clean

all: $(c11_BINS) examples

test: $(c11_BINS) $(pthread_BINS)
	@sh tests/run.sh $(c11_BINS) $(pthread_BINS)

check: test

test-c11: $(c11_BINS)
	@sh tests/run.sh $^

test-pthread: $(pthread_BINS)
	@sh tests/run.sh $^

test-tsan: $(tsan_BINS)
	@WP_TEST_SCALE=tsan TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" sh tests/run.sh $^

test-asan: $(asan_BINS)
	@WP_TEST_SCALE=asan ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" sh tests/run.sh $^

$(BUILD)/examples/%: examples/%.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. $< -o $@ $(LDLIBS) -lm

examples: $(addprefix $(BUILD)/examples/,$(EXAMPLE_NAMES))

demo: $(BUILD)/examples/backpressure
	./$(BUILD)/examples/backpressure

$(BUILD)/bench/%: bench/%.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) -O2 -g -DNDEBUG -I. $< -o $@ $(LDLIBS)

bench: $(addprefix $(BUILD)/bench/,$(BENCH_NAMES))
	@for b in $^; do ./$$b || exit 1; done

install:
	install -d $(DESTDIR)$(PREFIX)/include
	install -m 644 workerpool.h $(DESTDIR)$(PREFIX)/include/workerpool.h

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/workerpool.h

clean:
	rm -rf build
