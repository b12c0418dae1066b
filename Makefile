# pbft-ledger — plain GNU make.
#
#   make                      binaries and libpbft.a           (build/release/)
#   make test                 unit, simulator, fuzz-corpus and end-to-end tests
#   make SANITIZE=address,undefined test   the same under ASan+UBSan (build/sanitize/)
#   make test-sim SEEDS=N     N random simulator seeds
#   make bench [QUICK=1]      benchmarks (print figures)
#   make bench-soak [SOAK_SECONDS=600]  replica memory as the chain grows (docs/SOAK.md)
#   make fuzz [FUZZ_SECONDS=N]  libFuzzer targets (clang), run each for N seconds
#   make lint                 clang-format, clang-tidy, cppcheck
#   make testnet              start a local 4-replica testnet
#   make install PREFIX=/usr/local DESTDIR=
#   make compile_commands.json | make clean
#
# Every entry target first runs tools/deps.sh, which installs missing Debian
# packages when it can (root or sudo -n) and otherwise names the command.

SHELL := /bin/bash
.DEFAULT_GOAL := all

PKG_MODULES := openssl rocksdb nanomsg cmocka jansson inih libmicrohttpd libcurl

NO_DEPS_GOALS := clean help
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
ifndef PBFT_DEPS_CHECKED
DEPS_RC := $(shell bash tools/deps.sh $(if $(filter fuzz,$(MAKECMDGOALS)),--fuzz) 1>&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error missing dependencies (see the line above))
endif
export PBFT_DEPS_CHECKED := 1
endif
endif

ifdef SANITIZE
MODE ?= sanitize
else
MODE ?= release
endif
BUILD := build/$(MODE)

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKG_MODULES) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKG_MODULES) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wvla -Wcast-qual -Wundef -Wwrite-strings \
        -Wno-missing-field-initializers
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g -O2 -pthread -fno-strict-aliasing \
               -Iinclude $(WARN) $(PKG_CFLAGS)
ifdef SANITIZE
CFLAGS_BASE += -O1 -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS_BASE := -fsanitize=$(SANITIZE)
endif
# pbftd runs on jemalloc (node/heap.c says why); sanitizer builds keep
# glibc's malloc, which the sanitizers replace.
ifndef SANITIZE
PBFTD_LIBS := $(shell pkg-config --libs jemalloc 2>/dev/null)
endif
CFLAGS_ALL := $(CFLAGS_BASE) $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lpthread -lm $(LDLIBS)
LDFLAGS_ALL := -pthread $(LDFLAGS_BASE) $(LDFLAGS)

# Deliberate-bug builds for the simulator's self-test (see tests/sim).
ifdef PBFT_BUG
CFLAGS_ALL += -DPBFT_BUG_$(PBFT_BUG)=1
endif

# ---------------------------------------------------------------- sources
CRYPTO_SRC := $(sort $(wildcard crypto/*.c))
LEDGER_SRC := $(sort $(wildcard ledger/*.c))
CONSENSUS_SRC := $(sort $(wildcard consensus/*.c))
NODE_SRC := $(sort $(filter-out node/main.c,$(wildcard node/*.c)))
TOOLS_SRC := $(sort $(wildcard tools/common/*.c))
WALLET_SRC := $(sort $(wildcard tools/wallet/*.c))
VERIFY_SRC := $(sort $(wildcard tools/verify/*.c))
LOAD_SRC := $(sort $(wildcard tools/load/*.c))
SIM_SRC := $(sort $(wildcard tests/sim/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
UNIT_HELPERS := $(sort $(filter-out %_test.c,$(wildcard tests/unit/*.c)))
BENCH_SRC := $(sort $(wildcard tests/bench/*_bench.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_CRYPTO := $(BUILD)/lib/libpbft_crypto.a
LIB_LEDGER := $(BUILD)/lib/libpbft_ledger.a
LIB_CONSENSUS := $(BUILD)/lib/libpbft_consensus.a
LIB_NODE := $(BUILD)/lib/libpbft_node.a
LIB_TOOLS := $(BUILD)/lib/libpbft_tools.a
LIB_ALL := $(BUILD)/lib/libpbft.a

BIN := $(BUILD)/bin
PBFTD := $(BIN)/pbftd
WALLET := $(BIN)/pbft-wallet
VERIFY := $(BIN)/pbft-verify
LOADGEN := $(BIN)/pbft-load
SIM := $(BIN)/pbft-sim
PROGRAMS := $(if $(wildcard node/main.c),$(PBFTD)) $(if $(WALLET_SRC),$(WALLET)) $(if $(VERIFY_SRC),$(VERIFY)) \
            $(if $(LOAD_SRC),$(LOADGEN))

UNIT_BINS := $(patsubst tests/unit/%.c,$(BIN)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BIN)/bench/%,$(BENCH_SRC))
FUZZ_REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BIN)/fuzz-replay/%,$(FUZZ_SRC))

# Which module archives a unit test links, by its file-name prefix.
test_libs = $(strip \
  $(if $(filter crypto_%,$(1)),$(LIB_CRYPTO), \
  $(if $(filter consensus_%,$(1)),$(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO), \
  $(if $(filter node_%,$(1)),$(LIB_NODE) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO), \
  $(if $(filter tools_%,$(1)),$(LIB_TOOLS) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO), \
  $(LIB_LEDGER) $(LIB_CRYPTO))))))

# ---------------------------------------------------------------- build rules
.PHONY: all lib test test-unit test-sim test-e2e test-fuzz-corpus bench bench-soak fuzz lint \
        format install clean testnet help deps unit-bins

all: lib $(PROGRAMS)
lib: $(LIB_ALL)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB_CRYPTO): $(call obj,$(CRYPTO_SRC))
$(LIB_LEDGER): $(call obj,$(LEDGER_SRC))
$(LIB_CONSENSUS): $(call obj,$(CONSENSUS_SRC))
$(LIB_NODE): $(call obj,$(NODE_SRC))
$(LIB_TOOLS): $(call obj,$(TOOLS_SRC))
$(LIB_ALL): $(call obj,$(CRYPTO_SRC) $(LEDGER_SRC) $(CONSENSUS_SRC))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(PBFTD): $(call obj,node/main.c) $(LIB_NODE) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) $(PBFTD_LIBS)
$(WALLET): $(call obj,$(WALLET_SRC)) $(LIB_TOOLS) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
$(VERIFY): $(call obj,$(VERIFY_SRC)) $(LIB_TOOLS) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
$(LOADGEN): $(call obj,$(LOAD_SRC)) $(LIB_TOOLS) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
$(SIM): $(call obj,$(SIM_SRC)) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

.SECONDARY:
.SECONDEXPANSION:
$(BIN)/tests/%: $$(call obj,tests/unit/$$*.c $(UNIT_HELPERS)) $$(call test_libs,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
$(BIN)/bench/%: $$(call obj,tests/bench/$$*.c) $$(call test_libs,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
$(BIN)/fuzz-replay/%: $$(call obj,tests/fuzz/$$*.c tests/fuzz/replay_main.c) $(LIB_CONSENSUS) $(LIB_LEDGER) $(LIB_CRYPTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

unit-bins: $(UNIT_BINS)

-include $(shell find build/$(MODE)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- tests
# SIM_SEEDS: the fixed seeds `make test` runs; SEEDS: how many random seeds
# `make test-sim` runs.
SEEDS ?= 200
SIM_ARGS ?=

test: all $(UNIT_BINS) $(if $(SIM_SRC),$(SIM)) $(FUZZ_REPLAY_BINS)
	@bash tests/run.sh --build $(BUILD) $(if $(SANITIZE),--sanitize)

test-unit: $(UNIT_BINS)
	@bash tests/run.sh --build $(BUILD) --only unit

test-sim: $(if $(SIM_SRC),$(SIM))
	@if [ -z "$(SIM_SRC)" ]; then echo "test-sim: the simulator has not landed yet (tests/sim/ is empty); nothing to run"; \
	else $(SIM) --random $(SEEDS) $(SIM_ARGS); fi

test-e2e: all
	@bash tests/run.sh --build $(BUILD) --only e2e

bench: all $(BENCH_BINS)
	@bash tests/bench/run.sh --build $(BUILD) $(if $(QUICK),--quick)

# What a replica's memory does as its chain grows (docs/SOAK.md; ~12 min).
SOAK_SECONDS ?= 600
bench-soak: all
	@bash tests/bench/cluster.sh --build $(BUILD) --soak $(SOAK_SECONDS)

# ---------------------------------------------------------------- fuzzing
FUZZ_BUILD := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_SRC := $(CRYPTO_SRC) $(LEDGER_SRC) $(CONSENSUS_SRC)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(PKG_LIBS) -lpthread -lm

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do name=$$(basename $$f); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name 2>&1 | \
	      grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|crash-' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

# ---------------------------------------------------------------- lint
LINT_SRC := $(sort $(wildcard include/pbft/*.h crypto/*.[ch] ledger/*.[ch] consensus/*.[ch] \
            node/*.[ch] tools/*/*.[ch] tests/*/*.[ch]))
LINT_TIDY_SRC := $(CRYPTO_SRC) $(LEDGER_SRC) $(CONSENSUS_SRC) $(NODE_SRC) node/main.c \
                 $(TOOLS_SRC) $(WALLET_SRC) $(VERIFY_SRC)

lint: compile_commands.json
	clang-format --dry-run --Werror $(LINT_SRC)
	clang-tidy --quiet -p . $(LINT_TIDY_SRC) 2>/dev/null
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude $(LINT_TIDY_SRC)

format:
	clang-format -i $(LINT_SRC)

compile_commands.json: Makefile
	@{ echo '['; first=1; \
	  for f in $(CRYPTO_SRC) $(LEDGER_SRC) $(CONSENSUS_SRC) $(NODE_SRC) node/main.c $(TOOLS_SRC) \
	           $(WALLET_SRC) $(VERIFY_SRC) $(LOAD_SRC) $(SIM_SRC) $(UNIT_SRC) $(UNIT_HELPERS) \
	           $(BENCH_SRC); do \
	    [ -f "$$f" ] || continue; \
	    [ $$first = 1 ] || echo ','; first=0; \
	    printf '{"directory":"%s","file":"%s","command":"%s %s -c %s"}' \
	      "$(CURDIR)" "$$f" "$(CC)" "$(CFLAGS_BASE)" "$$f"; \
	  done; echo; echo ']'; } > $@
	@echo "wrote $@"

# ---------------------------------------------------------------- install, testnet
PREFIX ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/pbft
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(LIB_ALL) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/pbft/*.h $(DESTDIR)$(PREFIX)/include/pbft/

testnet: all
	@bash testnet/testnet up

clean:
	rm -rf build compile_commands.json

help:
	@sed -n '1,16p' Makefile | sed 's/^# \{0,1\}//'
