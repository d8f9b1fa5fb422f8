# prise — the C user's entry point.
#   make            library, header and examples      make test     every test
#   make demo       echo server + client on loopback   make install  PREFIX=/usr/local DESTDIR=
#   make lib | header | examples | bench | uninstall | clean

PREFIX  ?= /usr/local
DESTDIR ?=
CARGO   ?= cargo
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra
PYTHON  ?= python3

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
LIBDIR  := target/release
LIBS    := $(LIBDIR)/libprise.so $(LIBDIR)/libprise.a
# What a static link of libprise.a needs besides it (rustc --print native-static-libs).
STATIC_DEPS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# Every c-examples/<topic>/<name>.c is one program, built as build/examples/<topic>/<name>.
# c-examples/helper and c-examples/lib hold the course's headers, as the course lays them out.
EXAMPLE_SRCS := $(filter-out c-examples/helper/% c-examples/lib/%,$(wildcard c-examples/*/*.c))
EXAMPLES     := $(patsubst c-examples/%.c,build/examples/%,$(EXAMPLE_SRCS))
EXAMPLE_FLAGS = $(CFLAGS) $(WARN) -Iinclude -Ic-examples
EXAMPLE_LINK  = -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lprise -lpthread

.PHONY: all lib header examples test demo bench install uninstall clean check-rust python-test bench-smoke check-memory check-sanitize load load-small fuzz

all: header lib examples

# cargo decides what to rebuild; the soname link lets programs linked here run in place.
lib:
	$(CARGO) build --release --lib
	ln -sf libprise.so $(LIBDIR)/libprise.so.$(MAJOR)

# Copies cbindgen's fresh output (build.rs writes it into OUT_DIR) over the committed one.
header: lib
	@fresh=$$(ls -t $(LIBDIR)/build/prise-*/out/prise.h | head -n 1); \
	if ! cmp -s "$$fresh" include/prise.h; then cp "$$fresh" include/prise.h; echo "include/prise.h updated"; fi

examples: $(EXAMPLES)

build/examples/%: c-examples/%.c include/prise.h include/helperSO.h include/wrsock.h $(LIBDIR)/libprise.so
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_FLAGS) -o $@ $< $(EXAMPLE_LINK)

$(LIBDIR)/libprise.so: lib

# The header is not regenerated here: a test fails when the committed one is stale.
# pytest runs last: its closing line ("N passed") is the run's summary.
test: lib examples check-rust bench-smoke check-memory check-sanitize load-small
	$(CARGO) test --release --lib --tests
	$(MAKE) --no-print-directory python-test

# pytest lives in a virtual environment of the project's own, installed when missing.
PYVENV := python/.venv
$(PYVENV)/bin/pytest:
	$(PYTHON) -m venv $(PYVENV)
	$(PYVENV)/bin/pip install --quiet pytest

python-test: lib examples $(PYVENV)/bin/pytest
	PRISE_LIBRARY=$(abspath $(LIBDIR))/libprise.so $(PYVENV)/bin/python -m pytest -q python/tests

check-rust:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# The C test programs of tests/c, built by make for the memory and sanitizer checks
# (cargo test builds its own copies).
C_TESTS     := primitives resolution course helpers course_style
C_TEST_LINK  = -Iinclude -Ic-examples -Itests/c -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lprise -lpthread

build/tests/%: tests/c/%.c tests/c/check.h include/prise.h $(LIBDIR)/libprise.so
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 $(WARN) -Werror -o $@ $< $(C_TEST_LINK)

build/tests-sanitize/%: tests/c/%.c tests/c/check.h include/prise.h $(LIBDIR)/libprise.so
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 $(WARN) -Werror -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all -o $@ $< $(C_TEST_LINK)

# valgrind memcheck over the C tests and the examples; COURSE_CALLS bounds the long loop.
COURSE_CALLS ?= 20000
check-memory: lib examples $(addprefix build/tests/,$(C_TESTS))
	sh tests/check_memory.sh build/tests build/examples $(COURSE_CALLS)

# AddressSanitizer and UndefinedBehaviorSanitizer over the C tests.
check-sanitize: lib $(addprefix build/tests-sanitize/,$(C_TESTS))
	@for t in $(C_TESTS); do \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 PRISE_QUIET=1 \
			build/tests-sanitize/$$t $$( [ $$t = course ] && echo $(COURSE_CALLS) ) >build/tests-sanitize/$$t.out 2>&1 \
			|| { cat build/tests-sanitize/$$t.out; echo "check-sanitize: $$t FAILED"; exit 1; }; \
		echo "check-sanitize: $$t clean ($$(tail -n 1 build/tests-sanitize/$$t.out))"; \
	done

# Property-based fuzzing of every string- and address-taking function (tests/fuzz.rs);
# make test runs it for 2 s. PRISE_FUZZ_SEED=N replays a run.
FUZZ_SECONDS ?= 60
fuzz:
	PRISE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test --release --test fuzz -- --nocapture

# Load: concurrent clients checking every byte of their echo; no descriptor leaked.
load: lib examples
	$(PYTHON) tests/load.py --clients 500 --bytes 1048576

load-small: lib examples
	$(PYTHON) tests/load.py --clients 100 --bytes 131072

# Benchmarks: bench/run.py runs every measurement and writes BENCHMARKS.md.
build/bench: bench/bench.c include/prise.h include/helperSO.h $(LIBDIR)/libprise.so
	@mkdir -p build
	$(CC) $(CFLAGS) $(WARN) -Iinclude -o $@ $< $(EXAMPLE_LINK)

bench: lib examples build/bench
	$(PYTHON) bench/run.py

bench-smoke: lib examples build/bench
	$(PYTHON) bench/run.py --smoke

demo: lib examples
	@sh c-examples/demo.sh build/examples

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(LIBDIR)/libprise.so $(DESTDIR)$(PREFIX)/lib/libprise.so.$(VERSION)
	ln -sf libprise.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libprise.so.$(MAJOR)
	ln -sf libprise.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libprise.so
	install -m 0644 $(LIBDIR)/libprise.a $(DESTDIR)$(PREFIX)/lib/libprise.a
	install -m 0644 include/prise.h include/helperSO.h include/wrsock.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@STATIC_DEPS@|$(STATIC_DEPS)|' \
		prise.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/prise.pc
	@echo "installed prise $(VERSION) under $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libprise.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libprise.so.$(MAJOR) \
		$(DESTDIR)$(PREFIX)/lib/libprise.so $(DESTDIR)$(PREFIX)/lib/libprise.a \
		$(DESTDIR)$(PREFIX)/include/prise.h $(DESTDIR)$(PREFIX)/include/helperSO.h \
		$(DESTDIR)$(PREFIX)/include/wrsock.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/prise.pc

clean:
	$(CARGO) clean
	rm -rf build $(PYVENV)
