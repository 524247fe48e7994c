# llamafile — GNU make build.
#
#   make -j4                      build everything into o//llamafile/
#   make check                    build and run every test
#   make check SANITIZE=address,undefined
#                                 the same under ASan/UBSan (built in o/san/)
#   make fuzz FUZZ_SECONDS=300    run every fuzz target longer
#
# Sources are found by convention, so adding a file needs no edit here:
#   src/<layer>/*.c       the library (o/$(MODE)/lib/libllamafile.a)
#   src/apps/NAME/*.c     the program o/$(MODE)/llamafile/NAME
#   tests/**/test_*.c     a unit/conformance test program
#   tests/**/test_*.sh    a shell test (gets $BIN, $SHARED, $TESTS)
#   tests/fuzz/fuzz_*.c   a libFuzzer target (built with clang)

SHELL := /bin/bash
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

SANITIZE ?=
ifeq ($(SANITIZE),)
MODE ?=
else
MODE ?= san
endif
O := o/$(MODE)

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
FUZZ_CC ?= clang

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -g -pthread -ffp-contract=off $(WARN) -D_GNU_SOURCE
# The library and the tests see the internal headers; the programs see only
# the public one (their own directory's headers are found beside them), so
# the build enforces that apps use nothing but include/llamafile.h.
INCLUDES = -Iinclude -Isrc
OPT ?= -O2
CFLAGS ?=
CFLAGS += $(BASE_CFLAGS) $(OPT) -MMD -MP
LDLIBS := -ljansson -lpcre2-8 -lm -pthread
TEST_LIBS := -ljansson

# Programs that dlopen (GPU detection loads the CUDA driver) link the C
# library dynamically, because dlopen from a static glibc needs that very
# glibc at run time (the linker warns so); their other libraries stay static.
LIBC_DYNAMIC := llamafile platform/test_sysinfo
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
link_mode = $(2) $(3) $(LDLIBS)
else
# Static where Debian's static libraries allow: the binaries run on any
# x86-64 Linux (the LIBC_DYNAMIC ones on any with glibc 2.36 or later).
# The same for aarch64: qemu-user runs the static ones as they are and the
# LIBC_DYNAMIC ones with Debian's arm64 multiarch libraries (setup-aarch64).
LIBC_DYNAMIC_LIBS = -static-libgcc -Wl,-Bstatic $(1) -ljansson -lpcre2-8 -Wl,-Bdynamic $(2) -lm -pthread
link_mode = $(if $(filter $(LIBC_DYNAMIC),$(1)),$(call LIBC_DYNAMIC_LIBS,$(2),$(3)),-static $(2) $(LDLIBS))
endif

SHARED ?= ../shared

LIB_SRCS := $(shell find src -name '*.c' -not -path 'src/apps/*' | sort)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
LIB := $(O)/lib/libllamafile.a

APPS := $(notdir $(wildcard src/apps/*))
APP_BINS := $(APPS:%=$(O)/llamafile/%)

TEST_SRCS := $(shell find tests -path tests/js -prune -o -name 'test_*.c' -print | sort)
TEST_BINS := $(TEST_SRCS:%.c=$(O)/%)
TEST_SCRIPTS := $(shell find tests -path tests/js -prune -o -name 'test_*.sh' -print | sort)
TEST_SUPPORT_SRCS := $(shell find tests -path tests/js -prune -o -path tests/tools -prune -o -name '*.c' -not -name 'test_*' -not -path 'tests/fuzz/*' -print | sort)
# tests/tools/NAME.c: programs the shell tests run ($(O)/tests/tools/NAME).
TEST_TOOL_BINS := $(patsubst %.c,$(O)/%,$(filter-out tests/tools/test_%,$(wildcard tests/tools/*.c)))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(O)/obj/%.o)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=o/fuzz/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=o/fuzz/obj/%.o)
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP
FUZZ_SECONDS ?= 10

.PHONY: all setup setup-tests check fuzz clean tests
all: setup $(APP_BINS)

# Installs the Debian packages the build and tests need (quiet and quick
# when nothing is missing).
setup:
	@build/setup.sh

# What the tests need beyond the build: node, npm, chromium and the pinned
# npm packages of tests/js (build/setup-tests.sh).
setup-tests:
	@build/setup-tests.sh

$(O)/obj/%.o: %.c | setup
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@
$(O)/obj/src/apps/%.o: INCLUDES = -Iinclude

# The commit and compiler that --version reports; the header is rewritten
# only when they change, so it does not force rebuilds.
BUILD_INFO := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown) ($(shell $(CC) --version 2>/dev/null | head -n 1))
$(O)/gen/build_info.h: FORCE
	@mkdir -p $(@D)
	@echo '#define LF_BUILD_INFO "$(subst ",,$(BUILD_INFO))"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(O)/obj/src/apps/llamafile/main.o: $(O)/gen/build_info.h
$(O)/obj/src/apps/llamafile/main.o: CFLAGS += -include $(O)/gen/build_info.h
.PHONY: FORCE
FORCE:

# The web page served by server/static.c: src/apps/llamafile/www/ and Debian's
# marked, highlight.js (cut to a few languages) and DOMPurify, as C arrays,
# plain and gzipped, made by build/webembed.c (a host tool).
HOSTCC ?= cc
WEBUI_SRCS := $(sort $(wildcard src/apps/llamafile/www/*))
WEBUI_DEBIAN := /usr/share/javascript/marked/marked.min.js \
  /usr/share/javascript/highlight.js/highlight.min.js /usr/share/nodejs/dompurify/dist/purify.min.js
$(O)/gen/webembed: build/webembed.c
	@mkdir -p $(@D)
	$(HOSTCC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@
$(O)/gen/webui.inc: $(O)/gen/webembed $(WEBUI_SRCS) $(wildcard $(WEBUI_DEBIAN)) | setup
	@mkdir -p $(O)/gen/www
	$(O)/gen/webembed $@ $(O)/gen/www $(foreach f,$(WEBUI_SRCS) $(WEBUI_DEBIAN),$(notdir $(f))=$(f))
$(O)/obj/src/apps/llamafile/server/static.o o/fuzz/obj/src/apps/llamafile/server/static.o: $(O)/gen/webui.inc
$(O)/obj/src/apps/llamafile/server/static.o: CFLAGS += -I$(O)/gen
o/fuzz/obj/src/apps/llamafile/server/static.o: FUZZ_CFLAGS += -I$(O)/gen

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Every app links the library and its sources (src/apps/NAME/ and one level
# of subfolders); APP_LIBS_NAME adds per-app libraries, APP_DYNLIBS_NAME
# shared ones. The server (src/apps/llamafile/server/) links Debian's static
# libmicrohttpd.a; it calls GnuTLS, whose static archive needs p11-kit and
# libunistring, which Debian ships only as shared objects, so GnuTLS is
# linked as a shared library (llamafile links glibc dynamically already).
APP_LIBS_gguf-dump := -ljansson
APP_LIBS_llamafile := -ljansson -lmicrohttpd -ledit -ltinfo -lbsd -lmd
APP_DYNLIBS_llamafile := -lgnutls
app_srcs = $(wildcard src/apps/$(1)/*.c src/apps/$(1)/*/*.c)
define APP_RULE
$(O)/llamafile/$(1): $(patsubst %.c,$(O)/obj/%.o,$(call app_srcs,$(1))) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ $$(call link_mode,$(1),$$(APP_LIBS_$(1)),$$(APP_DYNLIBS_$(1))) -o $$@
endef
$(foreach app,$(APPS),$(eval $(call APP_RULE,$(app))))

$(O)/tests/%: $(O)/obj/tests/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(call link_mode,$*,$(TEST_LIBS)) -o $@

tests: $(TEST_BINS) $(TEST_TOOL_BINS)

o/fuzz/obj/%.o: %.c | setup
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(INCLUDES) -c $< -o $@
o/fuzz/obj/src/apps/%.o: INCLUDES = -Iinclude
# UBSan's pointer-overflow check on the unrolled SIMD kernels kept clang
# over 10 minutes on kernels_avx512vnni.c alone (69 s without it); ASan and
# the rest of UBSan stay on, and the gcc SANITIZE build keeps all of it.
o/fuzz/obj/src/tensor/kernels_%.o: FUZZ_CFLAGS += -fno-sanitize=pointer-overflow

o/fuzz/%: o/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ $(LDLIBS) $(FUZZ_LIBS) -o $@
# The server's request parsers are app code without HTTP, fuzzed on their own.
o/fuzz/fuzz_server_request: o/fuzz/obj/src/apps/llamafile/server/request.o \
  o/fuzz/obj/src/apps/llamafile/server/anthropic_request.o
o/fuzz/fuzz_server_request: FUZZ_LIBS := -ljansson

# The programs again, from the fuzz targets' ASan/UBSan objects (the ASan
# runtime supplies the coverage callbacks), for the hostile sweep
# (tests/hostile/test_hostile_sweep.sh): a sanitized sweep even in a plain
# make check.
FUZZ_LIB := o/fuzz/lib/libllamafile.a
FUZZ_APP_BINS := $(APPS:%=o/fuzz/apps/%)
$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
o/fuzz/obj/src/apps/llamafile/main.o: $(O)/gen/build_info.h
o/fuzz/obj/src/apps/llamafile/main.o: FUZZ_CFLAGS += -include $(O)/gen/build_info.h
define FUZZ_APP_RULE
o/fuzz/apps/$(1): $(patsubst %.c,o/fuzz/obj/%.o,$(call app_srcs,$(1))) $(FUZZ_LIB)
	@mkdir -p $$(@D)
	$$(FUZZ_CC) -fsanitize=address,undefined $$^ $$(APP_LIBS_$(1)) $$(APP_DYNLIBS_$(1)) $$(LDLIBS) -o $$@
endef
$(foreach app,$(APPS),$(eval $(call FUZZ_APP_RULE,$(app))))

check: setup-tests all tests $(FUZZ_BINS) $(FUZZ_APP_BINS)
	@BIN=$(O)/llamafile TESTBIN=$(O)/tests SHARED=$(SHARED) FUZZBIN=o/fuzz \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh $(TEST_BINS) $(TEST_SCRIPTS)

# make fuzz: every fuzz target for FUZZ_SECONDS, then the hostile sweep
# with HOSTILE_MUTANTS mutants.
HOSTILE_MUTANTS ?= 3000
fuzz: $(FUZZ_BINS) $(FUZZ_APP_BINS) $(APP_BINS)
	@SHARED=$(SHARED) FUZZBIN=o/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh; rc=$$?; \
	  SHARED=$(SHARED) BIN=$(O)/llamafile SANBIN=o/fuzz/apps MUTANTS=$(HOSTILE_MUTANTS) \
	  bash tests/hostile/test_hostile_sweep.sh && exit $$rc

# make check-aarch64: cross-builds the library, the programs and the tests
# for aarch64 into o/aarch64/ (Debian's aarch64-linux-gnu-gcc, static) and
# runs them under qemu-aarch64 -cpu max (NEON with dotprod; test_kernels
# also forces the plain NEON set). Its packages come from
# build/setup-aarch64.sh, not from setup. Left out: test_tokenizer_long_runs
# (slow under qemu, nothing architecture-specific). BIN holds one-line qemu
# wrappers of the programs for the shell tests.
AARCH64_CC ?= aarch64-linux-gnu-gcc
QEMU_AARCH64 ?= qemu-aarch64 -cpu max
AARCH64_LEFT_OUT := tests/text/test_tokenizer_long_runs
AARCH64_TEST_BINS := $(filter-out $(AARCH64_LEFT_OUT:%=$(O)/%),$(TEST_BINS))
AARCH64_SCRIPTS := tests/apps/test_llamafile_cli.sh tests/apps/test_generate_archs.sh
.PHONY: check-aarch64 check-aarch64-run
check-aarch64:
	@build/setup-aarch64.sh
	@$(MAKE) --no-print-directory MODE=aarch64 CC=$(AARCH64_CC) SANITIZE= check-aarch64-run

check-aarch64-run: all $(AARCH64_TEST_BINS) $(APPS:%=$(O)/qemu/%)
	@BIN=$(O)/qemu TESTBIN=$(O)/tests SHARED=$(SHARED) RUNNER="$(QEMU_AARCH64)" \
	  tests/run.sh $(AARCH64_TEST_BINS) $(AARCH64_SCRIPTS)

$(O)/qemu/%: FORCE
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec $(QEMU_AARCH64) "$$(dirname "$$0")/../llamafile/$*" "$$@"\n' >$@
	@chmod +x $@

# make bench: a benchmark, not a test. Builds TinyLlama-1.1B-shaped models
# with random weights once (F16 by llamafile-mkmodel, the rest by
# llamafile-quantize; ~10 GB, cached in $(BENCH_DIR)) and prints
# llamafile-bench's table. Override BENCH_TYPES / BENCH_ARGS to narrow it.
BENCH_DIR ?= o/bench
BENCH_TYPES ?= F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q4_K_M Q5_K_M Q6_K Q3_K_M Q2_K IQ4_XS IQ4_NL
BENCH_ARGS ?= -t 2 -r 3 -p 512 -n 128
BENCH_MODELS := $(BENCH_TYPES:%=$(BENCH_DIR)/tinyllama-%.gguf) \
                $(wildcard $(SHARED)/models/stories260K.gguf)
.PHONY: bench
bench: $(BENCH_MODELS) | $(O)/llamafile/llamafile-bench
	$(O)/llamafile/llamafile-bench $(BENCH_ARGS) $(BENCH_MODELS:%=-m %)
$(BENCH_DIR)/tinyllama-F16.gguf: | $(O)/llamafile/llamafile-mkmodel
	@mkdir -p $(@D)
	$(O)/llamafile/llamafile-mkmodel --arch llama --preset tinyllama-1.1b \
	  --vocab $(SHARED)/vocab/ggml-vocab-llama-spm.gguf $@
$(BENCH_DIR)/tinyllama-%.gguf: | $(BENCH_DIR)/tinyllama-F16.gguf $(O)/llamafile/llamafile-quantize
	$(O)/llamafile/llamafile-quantize -q $(BENCH_DIR)/tinyllama-F16.gguf $@ $*

# make bench-seed: the four seed models and gpt-oss-20b at full size with
# random weights (llamafile-mkmodel), packaged as llamafiles in o/seed and
# checked, once (~40 GB); bench/seed_bench.sh speed compares with llama.cpp.
.PHONY: bench-seed
bench-seed: | $(O)/llamafile/llamafile $(O)/llamafile/zipalign $(O)/llamafile/gguf-dump \
              $(O)/llamafile/llamafile-mkmodel
	SHARED=$(SHARED) BIN=$(O)/llamafile bench/seed_bench.sh make

clean:
	rm -rf o

-include $(shell find o -name '*.d' 2>/dev/null)
