#!/usr/bin/env bash
# tests/bench/compare.sh [--rounds R] [--seconds S] [--load "ARGS"] [--keep-failed] VARIANT...
#
# A/B comparison of replica builds or settings on this machine: for each
# round, each VARIANT in turn gets a fresh n=4 testnet on free loopback ports,
# a 3 s warm-up and one measured pbft-load run; one line per run, then the
# medians per variant. The machine's speed drifts by 10-15% within minutes,
# so compare variants by the medians of alternated runs, and prefer the
# `nv/v` column (CPU of everything but the verify threads over the verify
# threads' CPU), which drifts less than tx/s.
#
#   VARIANT   BUILD_DIR               the pbftd of BUILD_DIR/bin
#             BUILD_DIR@VAR=VAL,...   the same with these environment
#                                     variables set for the replicas
#             ...%TESTNET_ARGS        (suffix) extra `pbftd testnet` arguments
#                                     (e.g. %--batch-delay-ms 100)
#             ...#ARGS                (suffix, last) this variant's measured run
#                                     uses pbft-load ARGS instead of --load's
#   --load    pbft-load arguments of the measured run (default: the peak's
#             closed loop, "--closed 12 --batch 120 --per-account 3 --warmup 1
#             --binary")
#
# Every run uses the first variant's pbft-load. Replicas are stopped by pid.
# Exit status: 0; 1 when a run committed nothing (its directory is kept with
# --keep-failed); 64 usage.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rounds=3
seconds=12
load_args="--closed 12 --batch 120 --per-account 3 --warmup 1 --binary"
keep_failed=0
variants=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --load) load_args=$2; shift 2 ;;
        --keep-failed) keep_failed=1; shift ;;
        -*) echo "compare.sh: unknown option $1" >&2; exit 64 ;;
        *) variants+=("$1"); shift ;;
    esac
done
[ ${#variants[@]} -ge 1 ] || { sed -n '2,3p' "$0" >&2; exit 64; }
build_of() { local b=${1%%#*}; b=${b%%\%*}; echo "${b%%@*}"; }
for v in "${variants[@]}"; do
    [ -x "$(build_of "$v")/bin/pbftd" ] || { echo "compare.sh: no $(build_of "$v")/bin/pbftd" >&2; exit 64; }
done
load_bin=$(realpath "$(build_of "${variants[0]}")")/bin/pbft-load
results=$(mktemp /tmp/pbft-compare.XXXXXX)
pids=()
work=""
rc=0

stop_all() {
    local p t
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        t=0
        while kill -0 "$p" 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    pids=()
}
cleanup() {
    stop_all
    [ -n "$work" ] && rm -rf "$work"
    rm -f "$results"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_base_port() { python3 "$here/free_base_port.py" 16; }

healthy() { # base_port deadline_s
    local i deadline=$((SECONDS + $2))
    for i in 0 1 2 3; do
        until curl -sf -m 2 "http://127.0.0.1:$(($1 + 2 * i + 1))/health" >/dev/null 2>&1; do
            kill -0 "${pids[$i]}" 2>/dev/null || return 1
            [ $SECONDS -lt $deadline ] || return 1
            sleep 0.2
        done
    done
}

run_variant() { # variant
    local variant=$1 build envs=() tn_args="" bin base pl i spec=${1%%#*} args=$load_args
    build=$(build_of "$variant")
    [ "$variant" != "$spec" ] && args=${variant#*#}
    case "$spec" in *%*) tn_args=${spec#*%}; spec=${spec%%\%*} ;; esac
    [ "$spec" != "$build" ] && IFS=, read -r -a envs <<<"${spec#*@}"
    bin=$(realpath "$build")/bin
    work=$(mktemp -d /tmp/pbft-compare-run.XXXXXX)
    base=$(free_base_port)
    # shellcheck disable=SC2086 # tn_args is a word list
    if ! "$bin/pbftd" testnet --dir "$work/net" -n 4 --base-port "$base" --accounts 1000 $tn_args \
        >"$work/testnet.log" 2>&1; then
        echo "compare.sh: $variant: pbftd testnet failed:" >&2
        cat "$work/testnet.log" >&2
        rm -rf "$work"
        work=""
        rc=1
        return
    fi
    for i in 0 1 2 3; do
        (cd "$work/net/node$i" &&
            exec env "${envs[@]}" "$bin/pbftd" --home "$work/net/node$i" >>"$work/net/node$i/pbftd.log" 2>&1) &
        pids+=($!)
    done
    pl=$(IFS=,; echo "${pids[*]}")
    if healthy "$base" 60; then
        "$load_bin" --dir "$work/net" --pids "$pl" --closed 16 --batch 60 --per-account 3 \
            --binary --seconds 3 --warmup 1 --drain 20 >/dev/null 2>&1
        # shellcheck disable=SC2086 # args is a word list
        "$load_bin" --dir "$work/net" --pids "$pl" $args --seconds "$seconds" --drain 20 \
            >"$work/run.json" 2>"$work/run.err"
    else
        echo "compare.sh: $variant: a replica did not become healthy" >"$work/run.err"
    fi
    stop_all
    python3 - "$work/run.json" "$variant" "$results" <<'EOF' || {
import json, sys
try:
    j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    sys.exit(1)
if not j.get("tps"):
    sys.exit(1)
t = j.get("cpu_us_per_tx_by_thread", {})
total = sum(t.values())
verify = t.get("verify", 0.0)
nv = (total - verify) / verify if verify else float("nan")
load = j["loadgen_cpu_s"] * 1e6 / max(1, j["window_txs"])
print(f"{sys.argv[2]}  tx/s {j['tps']:.0f}  tx/block {j['txs_per_block']:.0f}  "
      f"p99 {j['lat_ms']['p99']:.0f} ms  us/tx {total:.1f} (" +
      " ".join(f"{k} {v:.1f}" for k, v in t.items()) + f")  nv/v {nv:.3f}  load {load:.1f}" +
      (f"  p99 per {j['timeline'].get('slice_s', 1):g}-s slice: max {max(tl):.0f} ms, "
       f"{sum(x > 250 for x in tl)} of {len(tl)} slices over 250"
       if (tl := j.get("timeline", {}).get("p99_ms")) else ""),
      flush=True)
with open(sys.argv[3], "a") as f:
    f.write(f"{sys.argv[2]}\t{j['tps']}\t{total}\t{nv}\n")
EOF
        echo "$variant: the run committed nothing:" >&2
        tail -5 "$work/run.err" >&2
        if [ $keep_failed = 1 ]; then echo "kept $work" >&2; work=""; fi
        rc=1
    }
    [ -n "$work" ] && rm -rf "$work"
    work=""
}

for ((r = 1; r <= rounds; r++)); do
    for v in "${variants[@]}"; do run_variant "$v"; done
done
echo "medians over $rounds rounds (tx/s, replica us/tx, nv/v):"
python3 - "$results" "${variants[@]}" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
for v in sys.argv[2:]:
    mine = [r for r in rows if r[0] == v]
    if not mine:
        print(f"  {v}: no successful run")
        continue
    med = lambda i: statistics.median(float(r[i]) for r in mine)
    print(f"  {v}: {med(1):.0f} tx/s  {med(2):.1f} us/tx  nv/v {med(3):.3f}  ({len(mine)} runs)")
EOF
exit $rc
