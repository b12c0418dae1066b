#!/usr/bin/env bash
# tests/run.sh --build DIR [--sanitize] [--only unit|sim|fuzz|e2e]
#
# Runs every suite that exists and prints one closing line:
#   "N passed, N failed"
# Unit tests: each build/<mode>/bin/tests/* (cmocka). Simulator: the fixed
# seeds in tests/sim/seeds.txt. Fuzz corpus: every tests/fuzz/corpus/<target>/
# file through the replay build of that target. End-to-end: tests/e2e/*.sh
# against the real binaries (skipped under --sanitize: the sanitizer run covers
# the unit and simulator suites).
set -u
build=build/release
sanitize=0
only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --sanitize) sanitize=1; shift ;;
        --only) only=$2; shift 2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
cd "$(dirname "$0")/.." || exit 1
export PBFT_BUILD="$build" PBFT_BIN="$PWD/$build/bin"

passed=0
failed=0
failures=()
logdir=$(mktemp -d /tmp/pbft-test-logs.XXXXXX)

run_one() { # name, command...
    local name=$1; shift
    local log="$logdir/$(echo "$name" | tr '/ ' '__').log"
    local start=$SECONDS
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        printf 'PASS %-48s %4ds\n' "$name" $((SECONDS - start))
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAIL %-48s %4ds  (log: %s)\n' "$name" $((SECONDS - start)) "$log"
        tail -40 "$log" | sed 's/^/    | /'
    fi
}

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if want unit; then
    for t in "$build"/bin/tests/*; do
        [ -x "$t" ] || continue
        run_one "unit/$(basename "$t")" "$t"
    done
    # the load generator's own pieces (percentiles, /proc CPU accounting, ...)
    [ -x "$build/bin/pbft-load" ] && run_one "unit/pbft-load-self-check" "$build/bin/pbft-load" --self-check
fi

if want sim && [ -x "$build/bin/pbft-sim" ]; then
    run_one "sim/fixed-seeds" "$build/bin/pbft-sim" --fixed
fi

# The checker must catch deliberately broken protocols (tests/sim/mutants.sh
# builds consensus with each PBFT_BUG switch and expects the simulator to fail).
if want sim && [ $sanitize = 0 ] && [ -f tests/sim/mutants.sh ] && [ -x "$build/bin/pbft-sim" ]; then
    run_one "sim/mutants-caught" env PBFT_MUTANTS_SKIP_NORMAL=1 bash tests/sim/mutants.sh
fi

if want fuzz; then
    for t in "$build"/bin/fuzz-replay/*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        [ -d "tests/fuzz/corpus/$name" ] || continue
        run_one "fuzz-corpus/$name" "$t" "tests/fuzz/corpus/$name"
    done
fi

if want e2e && [ $sanitize = 0 ]; then
    for t in tests/e2e/*.sh; do
        [ -f "$t" ] || continue
        run_one "e2e/$(basename "$t" .sh)" timeout 900 bash "$t"
    done
fi

echo
if [ $failed -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
