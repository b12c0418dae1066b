#!/usr/bin/env bash
# tests/sim/mutants.sh — the simulator's self-test: the checkers must catch
# deliberate consensus bugs.
#
# Builds pbft-sim three times — normal, PBFT_BUG=QUORUM_2F (quorum 2f instead
# of 2f+1) and PBFT_BUG=SKIP_PREPARED_CARRY (VIEW-CHANGE drops prepared
# certificates) — and runs the fixed seeds on each. Exit 0 only when the
# normal build passes and BOTH bug builds fail:
#   - bug-quorum must fail twice: once with every checker on (the commit
#     certificate check sees 2f signatures), and once with the certificate
#     check off (--no-cert-check), where the agreement checker must catch the
#     fork an equivocating primary makes;
#   - bug-carry must fail on the fixed seeds (agreement after a view change).
# Each run that caught a mutant is then replayed on the normal build, where it
# must pass (so the catch is the bug's doing, not a false alarm of the checker).
# Set PBFT_MUTANTS_SKIP_NORMAL=1 to skip the normal build's full --fixed run
# (e.g. when `make test` already ran it); the replays still run.
set -u
cd "$(dirname "$0")/../.." || exit 1
start=$SECONDS
logdir=$(mktemp -d /tmp/pbft-mutants.XXXXXX)
fail=0

build() { # mode bug
    local mode=$1 bug=$2
    if [ -n "$bug" ]; then
        make -j2 -s PBFT_BUG="$bug" MODE="$mode" "build/$mode/bin/pbft-sim" >"$logdir/build-$mode.log" 2>&1
    else
        make -j2 -s MODE="$mode" "build/$mode/bin/pbft-sim" >"$logdir/build-$mode.log" 2>&1
    fi || { echo "mutants: building $mode failed (log: $logdir/build-$mode.log)"; tail -20 "$logdir/build-$mode.log"; exit 1; }
}

expect() { # name expected(pass|fail) command...
    local name=$1 want=$2; shift 2
    local t0=$SECONDS
    local log
    log="$logdir/$(echo "$name" | tr '/:' '__').log"
    "$@" >"$log" 2>&1
    local rc=$?
    local got=pass
    [ $rc -ne 0 ] && got=fail
    # --expect-failure inverts the exit status: 0 means "a run failed".
    case " $* " in *" --expect-failure "*) [ $rc -eq 0 ] && got=fail || got=pass ;; esac
    local why
    why=$(grep -m1 '^     why:' "$log" | sed 's/^ *why: //')
    if [ "$got" = "$want" ]; then
        printf 'ok   %-44s %-4s as expected (%ds)%s\n' "$name" "$got" $((SECONDS - t0)) "${why:+: $why}"
    else
        printf 'BAD  %-44s %-4s, expected %s (%ds; log: %s)\n' "$name" "$got" "$want" $((SECONDS - t0)) "$log"
        tail -5 "$log" | sed 's/^/     | /'
        fail=1
    fi
}

build release ""
build bug-quorum QUORUM_2F
build bug-carry SKIP_PREPARED_CARRY
echo "mutants: built in $((SECONDS - start)) s"

if [ "${PBFT_MUTANTS_SKIP_NORMAL:-0}" != 1 ]; then
    expect normal-fixed pass build/release/bin/pbft-sim --fixed
fi
expect bug-quorum-fixed fail build/bug-quorum/bin/pbft-sim --fixed --expect-failure
expect bug-quorum-agreement fail build/bug-quorum/bin/pbft-sim --fixed --expect-failure \
    --no-cert-check --expect-check agreement
expect bug-carry-fixed fail build/bug-carry/bin/pbft-sim --fixed --expect-failure

# The runs that caught the mutants must pass on the normal build.
replay_on_normal() { # mutant-log-name extra-flags...
    local log="$logdir/$1.log"; shift
    local line
    line=$(grep -m1 '^     replay: pbft-sim ' "$log" | sed 's/^ *replay: pbft-sim //')
    if [ -z "$line" ]; then
        echo "BAD  no failing run to replay in $log"
        fail=1
        return
    fi
    # shellcheck disable=SC2086
    local name
    name="normal:$(echo "$line" | awk '{print $2 "/" $4}')${1:+/$1}"
    expect "$name" pass build/release/bin/pbft-sim $line "$@"
}
replay_on_normal bug-quorum-fixed
replay_on_normal bug-quorum-agreement --no-cert-check
replay_on_normal bug-carry-fixed

echo "mutants: $([ $fail = 0 ] && echo PASS || echo FAIL) in $((SECONDS - start)) s (logs: $logdir)"
exit $fail
