# thaw — see README.md. `make` builds ./thaw; `make check` runs every test.
# config.mk comes from ./configure; on a fresh machine it is made by
# installing the Debian packages (scripts/install-deps) and configuring.

-include config.mk

CC ?= cc
PREFIX ?= /usr/local
WARN = -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -Iinclude -Ibuild/gen $(DEP_CFLAGS) $(WARN)
# MARCH: -march=native unless ./configure --portable said otherwise;
# build/portable/ (make portable) is always built for any x86-64.
MARCH ?= -march=native
PORTABLE_MARCH = -mtune=generic
OPT = -O2 -fvect-cost-model=dynamic $(MARCH) -g
CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(FILE_CFLAGS) $(USER_CFLAGS) $(CFLAGS)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_CFLAGS = $(BASE_CFLAGS) -O1 -g $(SAN) $(FILE_CFLAGS) $(USER_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(USER_LDFLAGS) $(LDFLAGS) $(DEP_LIBS)

GEN_C = build/gen/onnx.pb-c.c
GEN_H = build/gen/onnx.pb-c.h
LIB_SRC = $(sort $(wildcard src/core/*.c src/nn/*.c src/train/*.c src/data/*.c \
	src/codec/*.c src/io/*.c src/run/*.c src/script/*.c \
	src/tui/*.c)) $(GEN_C)
CLI_SRC = $(sort $(wildcard src/cli/*.c))
TEST_SRC = $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ = $(patsubst %.c,build/obj/%.o,$(LIB_SRC))
CLI_OBJ = $(patsubst %.c,build/obj/%.o,$(CLI_SRC))
TEST_BIN = $(patsubst tests/unit/%.c,build/test/%,$(TEST_SRC))
SAN_LIB_OBJ = $(patsubst %.c,build/san/%.o,$(LIB_SRC))
SAN_TEST_BIN = $(patsubst tests/unit/%.c,build/santest/%,$(TEST_SRC))
PORT_LIB_OBJ = $(patsubst %.c,build/portable/obj/%.o,$(LIB_SRC))
PORT_CLI_OBJ = $(patsubst %.c,build/portable/obj/%.o,$(CLI_SRC))
PORT_CFLAGS = $(BASE_CFLAGS) -O2 -fvect-cost-model=dynamic $(PORTABLE_MARCH) -g $(FILE_CFLAGS) $(USER_CFLAGS) $(CFLAGS)
# Files whose loops call sqrtf and never read errno: without it GCC turns
# sqrtf into a vector instruction (the optimizer's Adam step)
NO_ERRNO_SRC = src/train/optim.c
$(foreach d,build/obj build/san build/portable/obj,$(patsubst %.c,$(d)/%.o,$(NO_ERRNO_SRC))): FILE_CFLAGS = -fno-math-errno

.PHONY: all check layers unit unit-san script-tests tui-tests conformance bench demo install uninstall clean deps \
	fuzz fuzz-check fuzz-seeds portable valgrind
.DEFAULT_GOAL := all

all: thaw

config.mk: configure scripts/install-deps
	scripts/install-deps
	./configure

deps:
	scripts/install-deps

$(GEN_C) $(GEN_H): | config.mk
	@mkdir -p build/gen
	cp $(ONNX_PROTO) build/gen/onnx.proto
	cd build/gen && $(PROTOC_C) --c_out=. onnx.proto

build/obj/%.o: %.c $(GEN_H) config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

build/san/%.o: %.c $(GEN_H) config.mk
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

build/portable/obj/%.o: %.c $(GEN_H) config.mk
	@mkdir -p $(dir $@)
	$(CC) $(PORT_CFLAGS) -MMD -MP -c $< -o $@

build/libthaw.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/libthaw-san.a: $(SAN_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

thaw: $(CLI_OBJ) build/libthaw.a
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) build/libthaw.a $(LDLIBS_ALL)

# The portable binary: no -march=native, so it runs on older x86-64 CPUs
# and under valgrind (which stops at AVX-512 instructions).
portable: build/portable/thaw

build/portable/libthaw.a: $(PORT_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/portable/thaw: $(PORT_CLI_OBJ) build/portable/libthaw.a
	$(CC) $(PORT_CFLAGS) -o $@ $(PORT_CLI_OBJ) build/portable/libthaw.a $(LDLIBS_ALL)

# memcheck over the portable build: training steps and inference of the
# reference CNN (per-layer timing mode, batch 4), then a model edit
valgrind: build/portable/thaw
	valgrind -q --error-exitcode=1 build/portable/thaw bench --layers --batch 4 >/dev/null
	valgrind -q --error-exitcode=1 build/portable/thaw edit assets/fashion-base.thaw \
		-o build/portable/valgrind.thaw --pop --head 3:head

build/test/%: tests/unit/%.c tests/unit/check.h build/libthaw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< build/libthaw.a $(LDLIBS_ALL)

build/santest/%: tests/unit/%.c tests/unit/check.h build/libthaw-san.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests/unit -o $@ $< build/libthaw-san.a $(LDLIBS_ALL)

# Every test suite prints `N passed, N failed` as its last line;
# scripts/run-tests sums them and fails when anything failed.
unit: $(TEST_BIN)
	scripts/run-tests unit $(TEST_BIN)

unit-san: $(SAN_TEST_BIN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		scripts/run-tests asan+ubsan $(SAN_TEST_BIN)

# Includes point one way (core -> nn -> codec -> data -> train -> run ->
# script -> tui -> cli); the self-test proves the check can fail.
layers:
	scripts/check-layers
	scripts/check-layers --self-test

# ---- coverage-guided fuzzing: libFuzzer from Debian's clang, with ASan and
# UBSan, one harness per loader (tests/fuzz/fuzz_*.c) over the layers the
# loaders live in. `make fuzz` runs each for FUZZ_SECONDS; `make fuzz-check`
# (part of make check) replays every regression case under
# tests/fuzz/regress/<target>/ and runs each briefly on its corpus.
FUZZ_CC ?= clang
FUZZ_TARGETS = thaw onnx idx png jpeg folder wordvec text
FUZZ_SECONDS ?= 180
FUZZ_CHECK_SECONDS ?= 15
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -Iinclude -Ibuild/gen $(DEP_CFLAGS) -Wall -Wno-unused-parameter -Wno-unknown-attributes \
	-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_LIB_SRC = $(sort $(wildcard src/core/*.c src/nn/*.c src/codec/*.c src/data/*.c)) $(GEN_C)
FUZZ_LIB_OBJ = $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_BIN = $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

build/fuzz/obj/%.o: %.c $(GEN_H) config.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/libthaw-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/libthaw-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/libthaw-fuzz.a $(LDLIBS_ALL)

# Rewrites the seed corpora from thaw's own writers (then commit them).
fuzz-seeds: build/libthaw.a
	@mkdir -p build/fuzz $(patsubst %,tests/fuzz/corpus/%,$(FUZZ_TARGETS))
	$(CC) $(CFLAGS_ALL) -o build/fuzz/seeds tests/fuzz/seeds.c build/libthaw.a $(LDLIBS_ALL)
	build/fuzz/seeds

fuzz: deps $(FUZZ_BIN)
	scripts/fuzz-run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-check: deps $(FUZZ_BIN)
	scripts/fuzz-run $(FUZZ_CHECK_SECONDS) $(FUZZ_TARGETS)

check: layers deps thaw unit unit-san fuzz-check
	@for t in tests/*/run.sh; do \
		if [ -x $$t ]; then $$t || exit 1; fi; done
	@echo "make check: all suites passed"

bench: thaw
	scripts/install-deps --bench
	scripts/bench

demo: thaw
	./thaw train --epochs 3

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary; thaw's Lua library
# and examples and the assets under share/thaw (where the binary finds them,
# from its own path); docs under share/doc/thaw; the man page.
BINDIR = $(DESTDIR)$(PREFIX)/bin
SHAREDIR = $(DESTDIR)$(PREFIX)/share/thaw
DOCDIR = $(DESTDIR)$(PREFIX)/share/doc/thaw
MAN1DIR = $(DESTDIR)$(PREFIX)/share/man/man1
LUA_FILES = $(sort $(wildcard lua/*.lua lua/*/*.lua lua/*/*/*.lua))
ASSET_FILES = $(wildcard assets/*)
DOC_FILES = README.md $(wildcard docs/*.md)

# make install PORTABLE=1 installs the portable build (see `portable`).
INSTALL_BIN = $(if $(filter 1,$(PORTABLE)),build/portable/thaw,thaw)

install: $(INSTALL_BIN)
	install -d "$(BINDIR)" "$(SHAREDIR)" "$(DOCDIR)" "$(MAN1DIR)"
	install -m 755 $(INSTALL_BIN) "$(BINDIR)/thaw"
	rm -rf "$(SHAREDIR)/lua" "$(SHAREDIR)/assets"
	for f in $(LUA_FILES) $(ASSET_FILES); do \
		install -d "$(SHAREDIR)/$$(dirname $$f)" && install -m 644 $$f "$(SHAREDIR)/$$f" || exit 1; done
	install -m 644 $(DOC_FILES) "$(DOCDIR)/"
	install -m 644 docs/man/thaw.1 "$(MAN1DIR)/thaw.1"

uninstall:
	rm -f "$(BINDIR)/thaw" "$(MAN1DIR)/thaw.1"
	rm -rf "$(SHAREDIR)" "$(DOCDIR)"

clean:
	rm -rf build thaw

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SAN_LIB_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d) $(PORT_LIB_OBJ:.o=.d) \
	$(PORT_CLI_OBJ:.o=.d)
