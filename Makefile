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
BASE_CFLAGS := -std=gnu11 -g -pthread -ffp-contract=off -Iinclude -Isrc $(WARN) -D_GNU_SOURCE
OPT ?= -O2
CFLAGS ?=
CFLAGS += $(BASE_CFLAGS) $(OPT) -MMD -MP
LDLIBS := -lpcre2-8 -lm -pthread
TEST_LIBS := -ljansson

ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
else
# Static where Debian's static libraries allow: the binaries run on any
# x86-64 Linux.
LDFLAGS += -static
endif

SHARED ?= ../shared

LIB_SRCS := $(shell find src -name '*.c' -not -path 'src/apps/*' | sort)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
LIB := $(O)/lib/libllamafile.a

APPS := $(notdir $(wildcard src/apps/*))
APP_BINS := $(APPS:%=$(O)/llamafile/%)

TEST_SRCS := $(shell find tests -name 'test_*.c' | sort)
TEST_BINS := $(TEST_SRCS:%.c=$(O)/%)
TEST_SCRIPTS := $(shell find tests -name 'test_*.sh' | sort)
TEST_SUPPORT_SRCS := $(shell find tests -name '*.c' -not -name 'test_*' -not -path 'tests/fuzz/*' | sort)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(O)/obj/%.o)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=o/fuzz/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=o/fuzz/obj/%.o)
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP
FUZZ_SECONDS ?= 10

.PHONY: all setup check fuzz clean tests
all: setup $(APP_BINS)

# Installs the Debian packages the build and tests need (quiet and quick
# when nothing is missing).
setup:
	@build/setup.sh

$(O)/obj/%.o: %.c | setup
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Every app links the library; APP_LIBS_NAME adds per-app libraries.
APP_LIBS_gguf-dump := -ljansson
define APP_RULE
$(O)/llamafile/$(1): $(patsubst %.c,$(O)/obj/%.o,$(wildcard src/apps/$(1)/*.c)) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ $$(APP_LIBS_$(1)) $$(LDLIBS) -o $$@
endef
$(foreach app,$(APPS),$(eval $(call APP_RULE,$(app))))

$(O)/tests/%: $(O)/obj/tests/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(TEST_LIBS) $(LDLIBS) -o $@

tests: $(TEST_BINS)

o/fuzz/obj/%.o: %.c | setup
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

o/fuzz/%: o/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ $(LDLIBS) -o $@

check: all tests $(FUZZ_BINS)
	@BIN=$(O)/llamafile TESTBIN=$(O)/tests SHARED=$(SHARED) FUZZBIN=o/fuzz \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh $(TEST_BINS) $(TEST_SCRIPTS)

fuzz: $(FUZZ_BINS)
	@SHARED=$(SHARED) FUZZBIN=o/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

clean:
	rm -rf o

-include $(shell find o -name '*.d' 2>/dev/null)
