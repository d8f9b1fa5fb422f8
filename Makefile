# prise — the C user's entry point.
#   make            library, header and examples      make test     every test
#   make demo       echo server + client on loopback   make install  PREFIX=/usr/local DESTDIR=
#   make lib | header | examples | prise-run | bench | uninstall | clean

PREFIX  ?= /usr/local
DESTDIR ?=
CARGO   ?= cargo
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra
PYTHON  ?= python3

# `make` alone is `make all` (the program rules below would otherwise come first).
.DEFAULT_GOAL := all

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
LIBDIR  := target/release
LIBS    := $(LIBDIR)/libprise.so $(LIBDIR)/libprise.a
# What a static link of libprise.a needs besides it (rustc --print native-static-libs).
STATIC_DEPS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# Program trees laid out like the course's (c-examples/, tests/course/): in each folder
# <topic>/, every .c file with a main is one program, build/.../<topic>/<name>, linked
# with the folder's other .c files (echoSrv.c + serviceEcho.c). A folder that brings its
# own copy of the course's helper gets prise's instead: its wrsock.c/helperSO.c are left
# out and prise's header is put first (-include), so the copy's header, guarded by the
# same WRSOCK_H, is skipped. helper/ and lib/ hold the course's headers, as the course
# lays them out; the programs reach them as "../helper/helperSO.h", "../lib/wrsock.h".
MAIN_PATTERN   := ^[[:space:]]*((int|void)[[:space:]]+)?main[[:space:]]*[(]
COURSE_HEADERS := include/prise.h include/prise_course.h include/helperSO.h include/wrsock.h
folder_sources  = $(filter-out %/wrsock.c %/helperSO.c,$(wildcard $(1)*.c))
folder_mains    = $(if $(call folder_sources,$(1)),$(shell grep -lE '$(MAIN_PATTERN)' $(call folder_sources,$(1))))
folder_flags    = $(if $(wildcard $(1)wrsock.c $(1)helperSO.c),-include $(abspath include/wrsock.h))
# $(1) source root, $(2) build root, $(3) compiler flags, $(4) the variable that lists
# the programs: one rule per program.
define program_tree
$(foreach folder,$(wildcard $(1)/*/),$(foreach main,$(call folder_mains,$(folder)),$(eval $(call program_rule,$(folder),$(main),$(2)/$(patsubst $(1)/%.c,%,$(main)),$(3),$(4)))))
endef
folder_shared   = $(filter-out $(call folder_mains,$(1)),$(call folder_sources,$(1)))
define program_rule
$(3): $(2) $(call folder_shared,$(1)) $(wildcard $(1)*.h) $(COURSE_HEADERS) $(LIBDIR)/libprise.so
	@mkdir -p $$(@D)
	$$(CC) $(4) $(call folder_flags,$(1)) -Iinclude -o $$@ $(2) $(call folder_shared,$(1)) $$(EXAMPLE_LINK)
$(5) += $(3)
endef

EXAMPLE_FLAGS = $(CFLAGS) $(WARN)
EXAMPLE_LINK  = -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lprise -lpthread
$(call program_tree,c-examples,build/examples,$$(EXAMPLE_FLAGS),EXAMPLES)

# tests/course/: programs in the style of each generation of the course's helper, built
# as a course folder is, with no warning allowed; tests/course_generations.rs builds them
# with each C standard (COURSE_STD) and compiler (CC) into its own COURSE_BUILD.
COURSE_STD   ?= gnu11
COURSE_BUILD ?= build/course/$(notdir $(CC))-$(COURSE_STD)
COURSE_FLAGS  = -std=$(COURSE_STD) -O1 -g $(WARN) -Werror -Werror=implicit-function-declaration
$(call program_tree,tests/course,$(COURSE_BUILD),$$(COURSE_FLAGS),COURSE_PROGRAMS)

.PHONY: all lib header examples course-programs prise-run test demo bench install uninstall clean check-rust python-test bench-smoke check-memory check-sanitize load load-small fuzz

all: header lib examples prise-run

# cargo decides what to rebuild; the soname link lets programs linked here run in place.
lib:
	$(CARGO) build --release --lib
	ln -sf libprise.so $(LIBDIR)/libprise.so.$(MAJOR)

# Copies cbindgen's fresh output (build.rs writes it into OUT_DIR) over the committed one.
header: lib
	@fresh=$$(ls -t $(LIBDIR)/build/prise-*/out/prise.h | head -n 1); \
	if ! cmp -s "$$fresh" include/prise.h; then cp "$$fresh" include/prise.h; echo "include/prise.h updated"; fi

examples: $(EXAMPLES)

course-programs: $(COURSE_PROGRAMS)

# prise-run (prise-run/): the launcher finds its library in ../lib, as once installed.
prise-run:
	$(CARGO) build --release -p prise-run
	@mkdir -p build/bin build/lib
	cp $(LIBDIR)/prise-run build/bin/prise-run
	cp $(LIBDIR)/libprise_run.so build/lib/libprise_run.so

$(LIBDIR)/libprise.so: lib

# The header is not regenerated here: a test fails when the committed one is stale.
# pytest runs last: its closing line ("N passed") is the run's summary.
test: lib examples check-rust bench-smoke check-memory check-sanitize load-small
	$(CARGO) test --release --lib --tests
	$(MAKE) --no-print-directory python-test

# pytest and Python's build tools live in a virtual environment of the project's own,
# made when missing, with python/'s build requirements kept as wheels in it so that
# python/tests/test_install.py installs offline. The CPython slice of test_socket needs
# CPython's own test suite: Debian ships it apart (libpython3.X-testsuite).
PYVENV := python/.venv
# (tomllib is Python 3.11's; pip brings its own copy for older ones.)
PY_BUILD_REQUIRES = $(shell $(PYTHON) -c 'import sys, importlib; toml = importlib.import_module( \
	"tomllib" if sys.version_info >= (3, 11) else "pip._vendor.tomli"); print(" ".join(repr(r) \
	for r in toml.load(open("python/pyproject.toml", "rb"))["build-system"]["requires"]))')
$(PYVENV)/.ready: python/pyproject.toml
	$(PYTHON) -m venv $(PYVENV)
	$(PYVENV)/bin/pip install --quiet pytest build $(PY_BUILD_REQUIRES)
	$(PYVENV)/bin/pip download --quiet --dest $(PYVENV)/wheels $(PY_BUILD_REQUIRES)
	@$(PYVENV)/bin/python -c "import test.test_socket" 2>/dev/null || { \
		v=$$($(PYVENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "CPython's test suite is missing: apt-get install libpython$$v-testsuite"; \
		apt-get install -y -q libpython$$v-testsuite; }
	touch $@

python-test: lib examples $(PYVENV)/.ready
	PRISE_LIBRARY=$(abspath $(LIBDIR))/libprise.so $(PYVENV)/bin/python -m pytest -q python/tests

check-rust:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# The C test programs: every tests/c/<name>.c, built here only (cargo test asks make
# for build/tests/<name>), and run by cargo test, valgrind and the sanitizers alike.
C_TESTS     := $(basename $(notdir $(wildcard tests/c/*.c)))
C_TEST_LINK  = -Iinclude -Ic-examples -Itests/c -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lprise -lpthread

build/tests/%: tests/c/%.c tests/c/check.h include/prise.h $(LIBDIR)/libprise.so
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 $(WARN) -Werror -o $@ $< $(C_TEST_LINK)

# Programs of plain libc (no prise) that tests/prise_run.rs runs under prise-run; one
# linked -static, for prise-run to refuse.
build/tests/prise-run/static_socket: PROGRAM_LDFLAGS := -static
build/tests/prise-run/%: tests/prise-run/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -std=gnu11 $(WARN) -Werror -o $@ $< -lpthread $(PROGRAM_LDFLAGS)

# Reproducers of failures found by outside attacks (tests/regressions.rs runs them).
build/regress/%: tests/regress/%.c tests/regress/common.h include/prise.h $(LIBDIR)/libprise.so
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 $(WARN) -Werror -pthread -o $@ $< $(C_TEST_LINK)

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

bench: lib examples prise-run build/bench
	$(PYTHON) bench/run.py

bench-smoke: lib examples prise-run build/bench
	$(PYTHON) bench/run.py --smoke

demo: all
	@sh c-examples/demo.sh build/examples

# Installs what `make` built, without building: `sudo make install` may not find cargo
# (sudo resets PATH), and root should not build in the user's tree.
INSTALL_FROM := $(LIBDIR)/libprise.so $(LIBDIR)/libprise.a build/bin/prise-run build/lib/libprise_run.so
install:
	@for f in $(INSTALL_FROM); do [ -e $$f ] || { \
		echo "make install: $$f is not built: run make first, then make install" >&2; exit 1; }; done
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 build/bin/prise-run $(DESTDIR)$(PREFIX)/bin/prise-run
	install -m 0755 build/lib/libprise_run.so $(DESTDIR)$(PREFIX)/lib/libprise_run.so
	install -m 0755 $(LIBDIR)/libprise.so $(DESTDIR)$(PREFIX)/lib/libprise.so.$(VERSION)
	ln -sf libprise.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libprise.so.$(MAJOR)
	ln -sf libprise.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libprise.so
	install -m 0644 $(LIBDIR)/libprise.a $(DESTDIR)$(PREFIX)/lib/libprise.a
	install -m 0644 include/prise.h include/prise_course.h include/helperSO.h include/wrsock.h $(DESTDIR)$(PREFIX)/include/
	for pc in prise prise-course; do \
		sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@STATIC_DEPS@|$(STATIC_DEPS)|' \
			$$pc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc; \
	done
	@# The loader's cache must learn the new library (not for a staged DESTDIR install).
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi
	@echo "installed prise $(VERSION) under $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libprise.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libprise.so.$(MAJOR) \
		$(DESTDIR)$(PREFIX)/lib/libprise.so $(DESTDIR)$(PREFIX)/lib/libprise.a \
		$(DESTDIR)$(PREFIX)/include/prise.h $(DESTDIR)$(PREFIX)/include/prise_course.h $(DESTDIR)$(PREFIX)/include/helperSO.h \
		$(DESTDIR)$(PREFIX)/include/wrsock.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/prise.pc \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/prise-course.pc \
		$(DESTDIR)$(PREFIX)/bin/prise-run $(DESTDIR)$(PREFIX)/lib/libprise_run.so

clean:
	$(CARGO) clean
	rm -rf build $(PYVENV)
