#!/usr/bin/env bash
# tests/bench/cluster.sh --build DIR [--quick] [--keep] [--out FILE] [--accounts K] [--perf]
#                        [--batch-delay-ms MS] [--batch-max N]
#
# The cluster benchmark (issue 7): anyone can rerun it and get the same kind
# of figures on their machine.
#
#  1. ceiling: ECDSA P-256 verifies/s on every core through the project's own
#     crypto_verify_digest with a warm key cache (pbft-load --verify-rate);
#     ceiling = that / n, since every replica verifies every tx once; the
#     same probe runs again after every load run (the machine's speed drifts);
#  2. starts a fresh n=4 testnet from the built binaries in a temp dir on free
#     ports (pbftd testnet, then pbftd --home per replica, pid files);
#  3. closed loop at rising concurrency until its ratio to the ceiling stops
#     rising (the peak), then open loop at 100 tx/s, 50% and 80% of the peak;
#     per run: committed tx/s, ratio to the ceiling around it, latency percentiles,
#     blocks/s, txs/block, replica CPU per tx, view changes;
#  4. peak RSS per replica (VmHWM), bytes on disk per committed tx;
#  5. pbft-verify --home over the chain produced (txs/s audited);
#  6. state transfer: replica 3 stopped, its store compacted (pbftd compact:
#     bytes per tx at rest), its data dir removed, restarted;
#     time until it reaches the others' height;
#  7. stops everything it started (by pid), prints a table and writes
#     docs/BENCHMARKS.md (or --out FILE).
# --perf adds one more closed run at the peak concurrency under
# `perf record -g` of replicas 0 (primary) and 1 (backup) and prints the top
# of `perf report` for each (kept in the work dir with --keep).
#
# Exit status: 0 when the cluster committed transactions and the chain
# verified; 1 otherwise (figures are printed either way); 64 usage.
set -u
build=build/release
quick=0
keep=0
perf=0
out=""
soak=0
accounts=""
chain_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        --keep) keep=1; shift ;;
        --perf) perf=1; shift ;;
        --out) out=$2; shift 2 ;;
        --soak) soak=$2; shift 2 ;;
        --accounts) accounts=$2; shift 2 ;;
        # consensus parameters of the benchmark's genesis (pbftd testnet's
        # defaults otherwise), to compare batching choices on one machine
        --batch-delay-ms | --batch-max) chain_args+=("$1" "$2"); shift 2 ;;
        *) echo "cluster.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
cd "$(dirname "$0")/../.." || exit 1
repo=$PWD
case "$soak" in '' | *[!0-9]*) echo "cluster.sh: --soak takes whole seconds" >&2; exit 64 ;; esac
if [ "$soak" -gt 0 ]; then
    [ -n "$out" ] || out="$repo/docs/SOAK.md"
else
    [ -n "$out" ] || out="$repo/docs/BENCHMARKS.md"
fi
case "$build" in /*) bin="$build/bin" ;; *) bin="$repo/$build/bin" ;; esac
# The commit measured: HEAD at the start, "+dirty" for uncommitted changes
# other than this run's own output file (an earlier run's docs/BENCHMARKS.md
# is not a change to what is measured); a run that outlasts a commit says so.
own=()
out_rel=$(realpath -m --relative-to="$repo" "$out")
case "$out_rel" in ../*) ;; *) own=(":(exclude)$out_rel") ;; esac
commit_id() {
    echo "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)$(git -C "$repo" diff --quiet HEAD -- . "${own[@]}" 2>/dev/null || echo '+dirty')"
}
commit_start=$(commit_id)
commit_measured() {
    local now
    now=$(commit_id)
    if [ "$now" = "$commit_start" ]; then echo "$now"; else echo "$commit_start (the tree was at $now when the run ended)"; fi
}
command_line="tests/bench/cluster.sh --build $build$([ $quick = 1 ] && echo ' --quick')$([ "$soak" -gt 0 ] && echo " --soak $soak")${chain_args[*]:+ ${chain_args[*]}}"

N=4
LINGER_MS=5   # open loop at 50% and 80% of the peak (see Method)
if [ $quick = 1 ]; then
    : "${accounts:=1000}"
    VERIFY_S=2; WARMUP=1; CLOSED_S=3; OPEN_S=4; DRAIN=15
    SWEEP=(3 5 10 20); BATCH=120; PER_ACCOUNT=3; PATIENCE=1
    CATCHUP_DEADLINE=15; HEALTH_DEADLINE=60  # quick: catch-up rate over at most 15 s
else
    : "${accounts:=1000}"
    VERIFY_S=3; WARMUP=3; CLOSED_S=10; OPEN_S=15; DRAIN=30
    SWEEP=(2 4 8 12 16 24); BATCH=120; PER_ACCOUNT=3; PATIENCE=2
    CATCHUP_DEADLINE=300; HEALTH_DEADLINE=120
fi

for b in pbftd pbft-load; do
    if [ ! -x "$bin/$b" ]; then
        echo "cluster: $bin/$b is missing; build first (make)" >&2
        exit 1
    fi
done
command -v python3 >/dev/null || { echo "cluster: python3 is required" >&2; exit 1; }
command -v curl >/dev/null || { echo "cluster: curl is required" >&2; exit 1; }

work=$(mktemp -d /tmp/pbft-bench.XXXXXX)
net="$work/net"
runs="$work/runs.jsonl"
facts="$work/facts.env"
: >"$runs"
: >"$facts"
# Snapshot the binaries: a `make` elsewhere must not swap them mid-run.
mkdir -p "$work/bin"
for b in pbftd pbft-load pbft-verify; do
    [ -x "$bin/$b" ] && cp "$bin/$b" "$work/bin/$b"
done
bin="$work/bin"
declare -a pids=()
started=$SECONDS
failed=0

log() { printf '[%4ds] %s\n' $((SECONDS - started)) "$*" >&2; }
fact() { printf '%s\t%s\n' "$1" "$2" >>"$facts"; }

# ---------------------------------------------------------------- processes
stop_replica() { # index
    local i=$1 pid=${pids[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    local t=0
    while kill -0 "$pid" 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        log "replica $i (pid $pid) ignored SIGTERM for 10 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    pids[$i]=""
}

load_pid=""
cleanup() {
    local i
    if [ -n "$load_pid" ]; then # the soak's pbft-load, when interrupted
        kill -TERM "$load_pid" 2>/dev/null
        wait "$load_pid" 2>/dev/null
    fi
    for i in "${!pids[@]}"; do stop_replica "$i"; done
    if [ $keep = 1 ]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_base_port() { python3 "$repo/tests/bench/free_base_port.py" 16; }

http_port() { echo $((base_port + 2 * $1 + 1)); }
url() { echo "http://127.0.0.1:$(http_port "$1")"; }

start_replica() { # index
    local i=$1 home="$net/node$1"
    (cd "$home" && exec "$bin/pbftd" --home "$home" >>"$home/pbftd.log" 2>&1) &
    pids[$i]=$!
    echo "${pids[$i]}" >"$home/bench.pid"
}

wait_health() { # index deadline_s
    local i=$1 deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            log "replica $i exited during start-up; last log lines:"
            tail -20 "$net/node$i/pbftd.log" >&2
            return 1
        fi
        curl -sf -m 2 "$(url "$i")/health" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    log "replica $i not healthy after $2 s; last log lines:"
    tail -20 "$net/node$i/pbftd.log" >&2
    return 1
}

status_field() { # index field
    curl -sf -m 5 "$(url "$1")/status" 2>/dev/null |
        python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print(v if v is not None else "")' "$2" 2>/dev/null
}

pid_list() { local IFS=,; echo "${pids[*]}"; }

# After each run: every replica's chain height, resident size and RocksDB's
# own memory (its /metrics gauges), to show what grows with the chain.
mem_snapshot() { # label
    local i m
    for i in "${!pids[@]}"; do
        [ -n "${pids[$i]}" ] || continue
        m=$(curl -sf -m 5 "$(url "$i")/metrics" 2>/dev/null)
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$i" \
            "$(awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print r "\t" h}' "/proc/${pids[$i]}/status" 2>/dev/null)" \
            "$(echo "$m" | awk '$1 == "pbft_height" {print $2}')" \
            "$(echo "$m" | awk '/^pbft_txs_total\{/ {t += $2} END {print t + 0}')" \
            "$(echo "$m" | awk '$1 ~ /^pbft_(store_((memtable|table_readers|block_cache|block_cache_pinned|pending_compaction)_bytes|l0_files)|heap_(allocated|free)_bytes)$/ {printf "%s=%s ", $1, $2}') $("$bin/pbft-load" --cpu-classes --pids "${pids[$i]}" 2>/dev/null)"
    done >>"$work/mem.tsv"
}

json_get() { # file key
    python3 -c 'import json,sys
for line in open(sys.argv[1]):
    line=line.strip()
    if line.startswith("{"): d=json.loads(line)
v=d
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"
}

# One pbft-load run; appends its JSON line (plus the label) to $runs.
load_run() { # label args...
    local label=$1; shift
    local o="$work/run-$label.json"
    "$bin/pbft-load" --dir "$net" --pids "$(pid_list)" --label "$label" --binary \
        --drain "$DRAIN" "$@" >"$o" 2>"$work/run-$label.err"
    local rc=$?
    sed 's/^/    /' "$work/run-$label.err" | grep -v '^    pbft-load: [0-9]* accounts' >&2
    if grep -q '^{' "$o"; then
        grep '^{' "$o" | tail -1 >>"$runs"
    else
        log "run $label produced no figures (pbft-load exit $rc)"
        return 1
    fi
    mem_snapshot "$label"
    return 0
}

# ---------------------------------------------------------------- report
# Prints the table and writes the markdown page from the run files.
report() { # work_dir out_file
    python3 - "$1" "$2" <<'EOF'
import json, os, sys

work, out = sys.argv[1], sys.argv[2]
facts = {}
for line in open(os.path.join(work, "facts.env")):
    k, _, v = line.rstrip("\n").partition("\t")
    facts[k] = v
runs = [json.loads(l) for l in open(os.path.join(work, "runs.jsonl")) if l.startswith("{")]

def num(k, default=0.0):
    try:
        return float(facts.get(k, ""))
    except ValueError:
        return default

n = int(num("n", 4))
verify_rate = num("verify_rate")
ceiling = num("ceiling")
peak = num("peak")
chain_txs = num("chain_txs")
quick = facts.get("quick") == "1"
# Each run is held against the machine's speed around it: the mean of the
# probes (pbft-load --verify-rate) just before and just after it.
def speed(label):
    return num(f"speed_{label}", 0) or verify_rate
def speed_cpu(label):
    return num(f"speed_cpu_{label}", 0) or num("verify_per_cpu_s")
probes = [float(v) for k, v in facts.items() if k.startswith("probe_rate_") and float(v) > 0]
peak_ratio = num("peak_ratio")

def f0(x): return "-" if x is None else f"{x:,.0f}"
def f1(x): return "-" if x is None else f"{x:,.1f}"
def f2(x): return "-" if x is None else f"{x:.2f}"

head = ["run", "offered tx/s", "committed tx/s", "x ceiling", "p50 ms", "p90 ms", "p99 ms",
        "max ms", "blocks/s", "tx/block", "CPU ms/tx", "view chg", "sustained", "other CPU"]
nproc = int(num("nproc", 1))
def other_cpu(r):
    w = r.get("window_s", 0) * nproc
    if not w or not r.get("system_cpu_s"):
        return None
    return max(0.0, r["system_cpu_s"] - (r.get("cpu_s") or 0) - r.get("loadgen_cpu_s", 0)) / w
rows = []
for r in runs:
    offered = r.get("offered_tps")
    lat = r.get("lat_ms", {})
    rows.append([
        r.get("label", ""),
        f0(offered) if offered is not None else f"C={r.get('concurrency')}x{r.get('batch')}",
        f0(r.get("tps")),
        f2(r["tps"] * n / speed(r.get("label", ""))) if speed(r.get("label", "")) else "-",
        f1(lat.get("p50")), f1(lat.get("p90")), f1(lat.get("p99")), f1(lat.get("max")),
        f1(r.get("blocks_per_s")), f0(r.get("txs_per_block")),
        f2(r.get("cpu_ms_per_tx")) if r.get("cpu_ms_per_tx") is not None else "-",
        str(r.get("view_changes")) if r.get("view_changes") is not None else "?",
        ("yes" if r.get("sustained") else "NO") if offered is not None else
        ("lost %d" % r["lost"] if r.get("lost") else "-"),
        f"{other_cpu(r) * 100:.0f}%" if other_cpu(r) is not None else "-",
    ])

def text_table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    line = lambda cells: "  ".join(str(c).rjust(w[i]) if i else str(c).ljust(w[i]) for i, c in enumerate(cells))
    return "\n".join([line(head), line(["-" * x for x in w])] + [line(r) for r in rows])

def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)

# Figures beside the runs
rss = [num(f"vmhwm_kb_{i}", None) for i in range(n)]
disk = [num(f"disk_bytes_{i}", None) for i in range(n)]
disk_ok = [d for d in disk if d]
bytes_per_tx = (sum(disk_ok) / len(disk_ok) / chain_txs) if disk_ok and chain_txs else None
verify_s = num("verify_seconds", None)
verify_rc = facts.get("verify_rc", "missing")
audit_rate = chain_txs / verify_s if verify_s and chain_txs else None
catch_s = num("catchup_seconds", None)
catch_h = num("catchup_target", None)
catch_ok = facts.get("catchup_ok") == "1"
vcs = [facts.get(f"view_changes_{i}", "?") for i in range(n)]
run_vc = sum(r.get("view_changes") or 0 for r in runs)
def run(label):
    return next((r for r in runs if r.get("label") == label), None)
o100, o80 = run("open-100"), run("open-80pct")
loadgen = sum(r.get("loadgen_cpu_s", 0) for r in runs)
replica_cpu = sum(r.get("cpu_s") or 0 for r in runs)
system_cpu = sum(r.get("system_cpu_s", 0) for r in runs)
window = sum(r.get("window_s", 0) for r in runs)
foreign = system_cpu - replica_cpu - loadgen

summary = []
mem_per_tx = None
summary.append(f"ceiling: {verify_rate:,.0f} ECDSA P-256 verifies/s on {facts.get('nproc')} cores "
               f"(crypto_verify_digest, warm key cache) / n={n} = {ceiling:,.0f} tx/s at the start")
if probes:
    summary.append(f"   {len(probes)} more probes after the runs measured {min(probes):,.0f}-{max(probes):,.0f} "
                   f"verifies/s ({min(probes) / verify_rate - 1:+.0%} to {max(probes) / verify_rate - 1:+.0%} "
                   "against the start); each run's \"x ceiling\" divides its tx/s by the mean of the probes "
                   "just before and just after it, / n")
per_cpu = num("verify_per_cpu_s")
if per_cpu:
    summary.append(f"uncontended estimate: {per_cpu:,.0f} verifies per CPU-second actually received x "
                   f"{nproc} cores = {per_cpu * nproc:,.0f}/s, ceiling {per_cpu * nproc / n:,.0f} tx/s "
                   "(what the ceiling would be with no other process on the machine)")
if num("verify_rate_end", 0) and verify_rate:
    drift = num("verify_rate_end") / verify_rate - 1
    summary.append(f"machine speed: {num('verify_rate_end'):,.0f} verifies/s measured again before the audit "
                   f"({drift * 100:+.0f}% against the start); figures from different minutes of this run "
                   "compare within that margin")
pk = run(facts.get("peak_label", ""))
summary.append(f"peak (closed loop): {peak:,.0f} tx/s = {peak_ratio:.2f} of the ceiling around that run"
               + (f" ({speed(pk['label']):,.0f} verifies/s / n = {speed(pk['label']) / n:,.0f} tx/s)"
                  f" at C={pk['concurrency']} x B={pk['batch']}, p50 {pk['lat_ms']['p50']:.0f} ms" if pk else ""))
if pk and pk.get("cpu_ms_per_tx"):
    cap = nproc * 1000 / pk["cpu_ms_per_tx"]
    summary.append(f"replica CPU at the peak: {pk['cpu_ms_per_tx']:.3f} ms per committed tx (all {n} replicas) "
                   f"-> at most {cap:,.0f} tx/s if the replicas had all {nproc} cores to themselves"
                   + (f" = {cap / (speed_cpu(pk['label']) * nproc / n):.2f} of the uncontended ceiling around that run"
                      if speed_cpu(pk["label"]) else ""))
if o100:
    summary.append(f"latency at 100 tx/s: p50 {o100['lat_ms']['p50']:.1f} ms, p99 {o100['lat_ms']['p99']:.1f} ms"
                   f" ({'sustained' if o100['sustained'] else 'NOT sustained'})")
if o80:
    summary.append(f"latency at 80% of peak ({o80['offered_tps']:,.0f} tx/s): p50 {o80['lat_ms']['p50']:.1f} ms,"
                   f" p99 {o80['lat_ms']['p99']:.1f} ms ({'sustained' if o80['sustained'] else 'NOT sustained'})")
    if o80.get("answer_ms"):
        summary.append(f"   of it, from the schedule to the answer of the POST that carried the tx (verified, in a"
                       f" replica's mempool): p50 {o80['answer_ms']['p50']:.1f} ms, p99 {o80['answer_ms']['p99']:.1f}"
                       " ms; the rest is batching, consensus, the synced write and the watcher seeing the block")
    if num("offered_at_rate_open-80pct", 0):
        at = num("offered_at_rate_open-80pct")
        summary.append(f"   offered = 0.80 x the peak's {peak_ratio:.2f} x the ceiling the probe just before it "
                       f"measured ({at:,.0f} verifies/s / n = {at / n:,.0f} tx/s); the machine ran at "
                       f"{speed('open-80pct'):,.0f} verifies/s around the run, so it offered "
                       f"{o80['offered_tps'] * n / speed('open-80pct'):.2f} of the ceiling = "
                       f"{o80['offered_tps'] * n / speed('open-80pct') / peak_ratio if peak_ratio else 0:.0%} of the "
                       "peak's ratio (an open-loop tx also costs more CPU than a closed-loop one, see the table below)")
    # The verify threads do the same ECDSA work per tx in every run, so
    # their CPU per tx tracks how long a verify took during the run itself
    # (a slower host, or more contention for the caches); the probes run
    # between runs, for a few seconds.
    v80 = (o80.get("cpu_us_per_tx_by_thread") or {}).get("verify")
    vpk = ((pk or {}).get("cpu_us_per_tx_by_thread") or {}).get("verify")
    if v80 and vpk and o80.get("window_s"):
        busy = (o80.get("cpu_s", 0) + o80.get("loadgen_cpu_s", 0)) / o80["window_s"] / nproc
        summary.append(f"   in the run the verify threads spent {v80:,.0f} us per tx against {vpk:,.0f} at the peak "
                       f"({v80 / vpk - 1:+.0%}: the same ECDSA work, so each verify took that much longer, from a "
                       f"slower host or more contention for the caches); the replicas and pbft-load kept "
                       f"{busy:.0%} of the {nproc} cores busy")
for label, name in (("open-50pct", "50%"), ("open-80pct", "80%")):
    tl = (run(label) or {}).get("timeline")
    if tl and tl.get("p99_ms"):
        summary.append(f"   p99 ms per {tl['slice_s']:g} s of the {name} run's schedule (txs due in that slice): "
                       + " ".join(f"{x:.0f}" for x in tl["p99_ms"])
                       + ("" if tl["committed"] == tl["sent"] else
                          f" (of {sum(tl['sent']):,} sent, {sum(tl['sent']) - sum(tl['committed']):,} not seen committed)"))
summary.append("peak RSS (VmHWM) per replica: " + ", ".join(
    f"r{i} {x / 1024:.0f} MiB" if x else f"r{i} ?" for i, x in enumerate(rss))
    + (f"; replica 3 after state transfer {num('catchup_vmhwm_kb') / 1024:.0f} MiB" if facts.get("catchup_vmhwm_kb") else ""))
# Memory by chain height: every replica after each run (mem_snapshot).
mem = []
try:
    for line in open(os.path.join(work, "mem.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) < 7 or not f[2] or not f[4]:
            continue
        g = dict(kv.split("=", 1) for kv in f[6].split())
        mem.append({"label": f[0], "replica": int(f[1]), "rss_kb": float(f[2]), "height": int(f[4]),
                    **{k.replace("pbft_store_", "").replace("pbft_", "").replace("_bytes", ""): float(v) for k, v in g.items()}})
except OSError:
    pass
def mean(xs): return sum(xs) / len(xs) if xs else None
mem_labels = [r.get("label") for r in runs if any(m["label"] == r.get("label") for m in mem)]
if mem_labels:
    summary.append("resident memory (VmRSS, mean of the replicas) after each run, by chain height: " + ", ".join(
        f"{mean([m['rss_kb'] for m in mem if m['label'] == l]) / 1024:.0f} MiB at height {max(m['height'] for m in mem if m['label'] == l):,}"
        for l in mem_labels))
    last = [m for m in mem if m["label"] == mem_labels[-1]]
    tr = mean([m.get("table_readers", 0) for m in last])
    summary.append(f"   RocksDB's own memory then (mean): memtables {mean([m.get('memtable', 0) for m in last]) / 2**20:.0f} MiB "
                   f"(at most 3 per column family, 3 x (32 + 32 + 16) MiB), block cache {mean([m.get('block_cache', 0) for m in last]) / 2**20:.1f} MiB "
                   f"(32 MiB capacity; index and filter blocks live in it, "
                   f"{mean([m.get('block_cache_pinned', 0) for m in last]) / 2**20:.1f} MiB pinned: L0 files' "
                   f"partitions), table readers outside the cache {tr / 1024:,.0f} KiB"
                   + (f" = {tr / chain_txs:.4f} bytes per committed tx (per-SST metadata: the part that grows with the chain)"
                      if chain_txs else ""))
    own = [m["heap_allocated"] - m.get("memtable", 0) - m.get("block_cache", 0) for m in last if "heap_allocated" in m]
    if own:
        summary.append(f"   malloc then (mean): {mean([m['heap_allocated'] for m in last if 'heap_allocated' in m]) / 2**20:.0f} MiB allocated, "
                       f"{mean(own) / 2**20:.0f} MiB of it outside the memtables and block cache; "
                       f"{mean([m.get('heap_free', 0) for m in last]) / 2**20:.0f} MiB free in the heap")
    if chain_txs:
        mem_per_tx = tr / chain_txs
summary.append(f"disk: {bytes_per_tx:,.0f} bytes per committed tx (avg data dir "
               f"{sum(disk_ok) / len(disk_ok) / 1e6:.1f} MB / {chain_txs:,.0f} txs, height {facts.get('chain_height')})"
               if bytes_per_tx else "disk: -")
wal = [num(f"disk_wal_bytes_{i}", 0) for i in range(n)]
sst = [num(f"disk_sst_bytes_{i}", 0) for i in range(n)]
if chain_txs and disk_ok:
    summary.append(f"   of which RocksDB WAL {sum(wal) / n / chain_txs:,.0f} bytes/tx (not yet flushed) and "
                   f"SST files {sum(sst) / n / chain_txs:,.0f} bytes/tx (flushed, LZ4); the replica that got the "
                   f"chain by state transfer ends with {num('disk_bytes_after_catchup_3', 0) / chain_txs:,.0f} bytes/tx"
                   if num("disk_bytes_after_catchup_3", 0) and catch_ok else
                   f"   of which RocksDB WAL {sum(wal) / n / chain_txs:,.0f} bytes/tx (not yet flushed) and "
                   f"SST files {sum(sst) / n / chain_txs:,.0f} bytes/tx (flushed, LZ4)")
if num("compact_txs_3", 0) and num("disk_bytes_at_rest_3", 0):
    summary.append(f"   at rest (replica 3 stopped, then `pbftd compact`: memtables flushed, store compacted, "
                   f"{num('disk_wal_bytes_at_rest_3', 0):,.0f} bytes of WAL left): "
                   f"{num('disk_bytes_at_rest_3') / num('compact_txs_3'):,.0f} bytes per committed tx "
                   f"({num('disk_bytes_at_rest_3') / 1e6:.1f} MB / {num('compact_txs_3'):,.0f} txs; "
                   f"the compaction took {num('compact_seconds'):.1f} s)")
verify_cpu = num("verify_cpu_seconds", None)
# The audit is compared with the verify rate measured right before it (the
# machine's speed drifts); the start-of-run rate is shown beside it.
rate_end = num("verify_rate_end", 0) or verify_rate
per_cpu_end = num("verify_per_cpu_s_end", 0) or per_cpu
if verify_rc == "missing":
    summary.append("pbft-verify: not run (binary missing or empty chain)")
else:
    summary.append(f"pbft-verify --home: exit {verify_rc}, {chain_txs:,.0f} txs in {verify_s:.2f} s = "
                   f"{audit_rate or 0:,.0f} txs/s audited = {(audit_rate or 0) / rate_end if rate_end else 0:.2f} of the all-core "
                   f"verify rate measured just before it ({rate_end:,.0f}/s; {(audit_rate or 0) / verify_rate if verify_rate else 0:.2f} "
                   f"of the start-of-run rate {verify_rate:,.0f}/s)")
    if sum(sst) == 0:
        summary.append("   this chain was never flushed, so the audit's read-only open first replays all of the "
                       "RocksDB WAL on one thread (a full run's chain is mostly in SST files)")
    if verify_cpu and per_cpu_end:
        summary.append(f"   CPU-normalised: {chain_txs / verify_cpu:,.0f} txs audited per CPU-second vs {per_cpu_end:,.0f} "
                       f"verifies per CPU-second = {chain_txs / verify_cpu / per_cpu_end:.2f} (the audit also checks "
                       "3 certificate signatures per block and replays every tx)")
if catch_s is not None:
    if catch_ok:
        summary.append(f"state transfer (empty data dir): {catch_h:,.0f} blocks in {catch_s:.2f} s = "
                       f"{catch_h / catch_s:,.0f} blocks/s, {chain_txs / catch_s:,.0f} txs/s"
                       + ("; same block hash as replica 0 at that height" if facts.get("catchup_hash_match") == "1"
                          else "; block hash DIFFERS from replica 0"))
    else:
        reached = num("catchup_height")
        summary.append(f"state transfer (empty data dir): reached {reached:,.0f} of {catch_h:,.0f} blocks in the "
                       f"{catch_s:.0f} s allowed = {reached / catch_s:,.0f} blocks/s"
                       + (" (quick mode stops after 15 s)" if quick else " (did NOT catch up)"))
summary.append(f"view changes: {run_vc} during the runs; per replica at the end: {', '.join(vcs)}")
if window:
    summary.append(f"CPU during the measured windows ({window:.0f} s x {facts.get('nproc')} cores): replicas "
                   f"{replica_cpu:.1f} s, pbft-load {loadgen:.1f} s, other processes {max(0, foreign):.1f} s"
                   f" (load average at start {facts.get('loadavg_start')})")

# Where the replica CPU goes, by thread (pbft-load reads /proc/PID/task/*/stat).
classes = ["verify", "consensus", "storage", "safety", "rocksdb", "http", "other"]
cpu_head = ["run", "tx/block"] + classes + ["total", "non-verify / verify"]
cpu_rows = []
for r in runs:
    by = r.get("cpu_us_per_tx_by_thread")
    if not by:
        continue
    tot = sum(by.get(k, 0) for k in classes)
    v = by.get("verify", 0)
    cpu_rows.append([r.get("label", ""), f0(r.get("txs_per_block"))] + [f0(by.get(k, 0)) for k in classes]
                    + [f0(tot), f2((tot - v) / v) if v else "-"])
if pk and pk.get("cpu_us_per_tx_by_thread") and speed_cpu(pk["label"]):
    by = pk["cpu_us_per_tx_by_thread"]
    tot = sum(by.get(k, 0) for k in classes)
    ideal = n * 1e6 / speed_cpu(pk["label"])  # one verify per replica at the uncontended rate
    lg = pk.get("loadgen_cpu_s", 0) * 1e6 / pk["window_txs"] if pk.get("window_txs") else 0
    summary.append(f"at the peak the replicas spend {tot:,.0f} us of CPU per committed tx: verify threads "
                   f"{by.get('verify', 0):,.0f} us (n x one verify at the uncontended rate would be {ideal:,.0f} us), "
                   f"everything else {tot - by.get('verify', 0):,.0f} us, pbft-load another {lg:,.0f} us; "
                   f"0.80 of the ceiling needs replicas + load generator <= {ideal / 0.8:,.0f} us per tx")

def target(name, value, ok):
    return [name, value, "met" if ok else "NOT met"]
targets = []
if peak_ratio:
    targets.append(target("peak >= 0.80 of ceiling (wall clock)", f"{peak_ratio:.2f}", peak_ratio >= 0.8))
if pk and pk.get("cpu_ms_per_tx") and speed_cpu(pk["label"]):
    norm = nproc * 1000 / pk["cpu_ms_per_tx"] / (speed_cpu(pk["label"]) * nproc / n)
    targets.append(target("  same, CPU-normalised (see above)", f"{norm:.2f}", norm >= 0.8))
if o100:
    targets.append(target("100 tx/s: p50 <= 10 ms, p99 <= 50 ms",
                          f"{o100['lat_ms']['p50']:.1f} / {o100['lat_ms']['p99']:.1f} ms",
                          o100["lat_ms"]["p50"] <= 10 and o100["lat_ms"]["p99"] <= 50 and o100["sustained"]))
if o80:
    targets.append(target("80% of peak: p99 <= 250 ms", f"{o80['lat_ms']['p99']:.1f} ms",
                          o80["lat_ms"]["p99"] <= 250 and o80["sustained"]))
if audit_rate and rate_end:
    targets.append(target("pbft-verify >= 0.8 of all-core verify rate", f"{audit_rate / rate_end:.2f}",
                           audit_rate >= 0.8 * rate_end and verify_rc == "0"))
if verify_cpu and per_cpu_end and chain_txs:
    e = chain_txs / verify_cpu / per_cpu_end
    targets.append(target("  same, CPU-normalised", f"{e:.2f}", e >= 0.8 and verify_rc == "0"))
rest_txs = num("compact_txs_3", 0)
rest_per_tx = num("disk_bytes_at_rest_3", 0) / rest_txs if rest_txs and num("disk_bytes_at_rest_3", 0) else None
if rest_per_tx:
    targets.append(target("disk <= 300 bytes/tx (at rest: pbftd compact)", f"{rest_per_tx:,.0f}",
                          rest_per_tx <= 300))
elif bytes_per_tx:
    if sum(sst) == 0 and bytes_per_tx > 300:
        # A quick run's chain fits in the first memtable: every byte is
        # still in the uncompressed WAL, which a flush replaces.
        targets.append(["disk <= 300 bytes/tx", f"{bytes_per_tx:,.0f} (WAL only, nothing flushed yet)",
                        "not judged (run the full mode)"])
    else:
        targets.append(target("disk <= 300 bytes/tx", f"{bytes_per_tx:,.0f}", bytes_per_tx <= 300))
if mem_per_tx is not None:
    # Everything else a replica holds has a fixed cap (memtables, block
    # cache, mempool, caches); RocksDB's table readers keep a little per
    # SST file. Index and filter blocks held there instead grew by ~1.1
    # bytes per tx (a GiB per billion txs).
    name = "memory bounded: RocksDB outside its caps <= 0.1 bytes/tx"
    if sum(sst) == 0:
        targets.append([name, f"{mem_per_tx:.4f} (nothing flushed yet)", "not judged (run the full mode)"])
    else:
        targets.append(target(name, f"{mem_per_tx:.4f}", mem_per_tx <= 0.1))
targets.append(target("0 view changes", str(run_vc), run_vc == 0))

title = f"cluster benchmark ({'quick' if quick else 'full'}), n={n}, {facts.get('accounts')} accounts"
print()
print("== " + title)
print(text_table(head, rows))
print()
for s in summary: print(s)
if cpu_rows:
    print()
    print("replica CPU per committed tx by thread (us, all replicas summed)")
    print(text_table(cpu_head, cpu_rows))
print()
print(text_table(["target", "measured", ""], targets))
print(f"\n(elapsed {facts.get('elapsed_s')} s; written to {out})")

md = []
md.append("# Benchmarks\n")
md.append("Produced by `tests/bench/cluster.sh` (run by `make bench`; `make bench QUICK=1` for the short "
          "version). Every figure below comes from one run of that script on the machine described; "
          "rerun it to get yours.\n")
md.append(f"- date: {facts.get('date')}")
md.append(f"- command: `{facts.get('command_line')}` ({'quick' if quick else 'full'} mode, {facts.get('elapsed_s')} s)")
md.append(f"- git commit: `{facts.get('commit')}`")
md.append(f"- machine: {facts.get('nproc')} cores, {facts.get('cpu_model')}, {facts.get('ram_gib')} GiB RAM; "
          f"load average at start {facts.get('loadavg_start')}, at end {facts.get('loadavg_end')}")
md.append(f"- cluster: n={n} replicas on loopback, {facts.get('accounts')} funded accounts, "
          f"POST /txs batches of {facts.get('batch')} txs in the closed loop, {facts.get('per_account')} "
          "consecutive nonces per account in every loaded run (1 at 100 tx/s), spread round-robin over the replicas; "
          "the load generator runs on the same machine\n")
md.append("## Results\n")
md.append(md_table(head, rows) + "\n")
for s in summary: md.append(f"- {s}")
if cpu_rows:
    md.append("\n## Where the replica CPU goes\n")
    md.append("CPU time per committed tx in microseconds, summed over the n replicas, by the thread that spent it "
              "(`/proc/PID/task/*/stat` over each run's window): `verify` the tx-signature workers, `consensus` the "
              "main thread (PBFT, message signatures, network I/O), `storage` execution and the synced block "
              "write (mostly RocksDB memtable inserts), `safety` the synced safety-state write, `rocksdb` "
              "memtable flushes and compactions, `http` the API's connection threads, exited ones included (a POST "
              "of at most 8 txs has their signatures checked inline there, so small POSTs move verify time into "
              "this column), "
              "`other` nanomsg's worker and jemalloc's purging thread.\n")
    md.append(md_table(cpu_head, cpu_rows) + "\n")
md.append("\n## Against the targets\n")
md.append(md_table(["target", "measured", ""], targets) + "\n")
md.append("""## Method

- **Ceiling.** `pbft-load --verify-rate` signs 512 digests with 16 keys, then verifies them in a loop
  with one thread per core through `crypto_verify_digest` (the product's own policy verifier,
  decoded-key cache warm) for a few seconds. Every replica must verify every transaction signature
  once, so on one machine hosting all n replicas the ceiling is that rate / n. This machine's speed
  drifts by 10-25% within minutes (other tenants of its host), so the same probe runs at the start
  and again after every load run, and each run's "x ceiling" divides its committed tx/s by the mean
  of the two probes around it, / n. With one probe at the start, a run whose start probe caught a
  slow minute (28,153 verifies/s, against 35,868 and 33,474 in its two later probes) read 0.83.
- **Load.** `pbft-load` reads the keystore (`DIR/accounts/*.pem`) and the chain id from
  `DIR/accounts/genesis.json`, fetches each used account's nonce once (`GET /account/{addr}`) and
  pre-signs every transaction before timing starts (amount 1, empty memo, sequential nonces). It
  sends `POST /txs` batches over keep-alive libcurl handles, round-robin over the replicas, in the
  API's binary form (`--binary`: the txs' bytes back to back, `application/octet-stream`, answered
  with `?results=errors`, which lists only the txs not accepted), as a gateway that batches for
  throughput would. Against JSON hex bodies with an entry per tx in the answer, that took 8-9 us
  of replica HTTP-thread CPU and 2-3 us of pbft-load CPU off every committed tx in closed-loop
  A/B runs (`tests/bench/compare.sh --rounds 2 --seconds 12 "B#--closed 24 --batch 60
  --per-account 3 --warmup 1" "B#... --binary"`; the JSON form is pbft-load without `--binary`). An
  account never has two groups in flight: a group is a few consecutive nonces of one account (in
  nonce order, one HTTP request, one replica, so they reach the primary in order; any reordering
  would show as failed txs in the figures). The closed loop and the 50% and 80% open-loop runs use
  the same group size, so "80% of the peak" offers the same kind of work the peak was measured
  with (one tx per account per block instead touches more accounts per tx: each sender once per
  tx rather than once per three); at 100 tx/s each tx is its own group. `pbftd testnet` caps the funded accounts at 1000,
  which caps what can be in flight at 1000 x the group size: with groups of 3, 600 ms of txs at
  5,000 tx/s (with single txs it was 200 ms, so the generator throttled itself right where the
  250 ms target lies).
- **Storage.** `pbftd testnet` writes `store_write_mb_per_s = 32 / n` (8 MB/s for n=4) into each
  replica's config.ini, capping RocksDB's background writes (memtable flushes, compactions): the n
  replicas share one disk and fill their memtables at the same moment, and uncapped, 15-s windows
  at 5,000 tx/s open loop that held that flush had p99 latencies of 321-739 ms (docs/OPERATIONS.md).
- **Commit detection.** One watcher thread long-polls `GET /status?after=H&wait_ms=200` of
  replica 1 (answered as soon as a block above H is stored) and fetches every new
  `GET /block/{h}?txs=ids`; a transaction counts as committed when the status first shows the
  height of the block that holds it. Committed tx/s is the sum of `tx_count` over the blocks first
  seen inside the measured window, divided by its length.
- **Closed loop** (`--closed C`): C workers, each with one batch outstanding until every one of its
  transactions is seen committed; after a warm-up, a fixed window. Concurrency doubles until
  its ratio to the ceiling rises by less than 5%; the best ratio is the peak. Latency = send to seen
  committed. Batches are 120 txs: with 60 (and twice the workers, the same txs in flight) each
  committed tx cost about 2 us more replica HTTP-thread CPU and 2 us more pbft-load CPU, in 3 of 3
  alternated pairs (`tests/bench/compare.sh --rounds 3 --seconds 12 "B#--closed 24 --batch 60
  --per-account 3 --warmup 1 --binary" "B#--closed 12 --batch 120 ..."`).
- **Open loop** (`--open R`): transactions are due on a fixed schedule at R tx/s; sender threads
  post whatever is due, whole groups only (a group goes once its last tx is due). At 100 tx/s four
  senders post every tx as soon as it is due (one wallet's transfer at a time); in the 50% and 80%
  runs one sender, a batching gateway, waits until the oldest due tx is @LINGER@ ms late (or 255
  are due) before posting (`--linger-ms`: without it a POST carries a handful of txs and the HTTP
  round trips cost the replicas and the load generator more CPU per tx than the closed loop's;
  four lingering senders post four times as many, smaller POSTs, which at 4,800 tx/s cost the
  load generator 13-18 us/tx against 9-11 for one, and had the higher p99 in 6 of 6 A/B pairs).
  Latency is measured from the *scheduled* time (no coordinated omission), so the wait is in the
  figures. pbft-load also notes when the POST carrying each tx was answered (`answer_ms` in its
  JSON): the replica answers once the tx's signature is checked and it is in that replica's
  mempool, so the summary splits the 80% run's latency into the part before that (the linger, the
  HTTP round trip, the verify queue) and the rest (batching at the primary, consensus, the synced
  block write, the watcher seeing the block).
  The summary also gives the 50% and 80% runs' p99 per second of the schedule (`timeline` in
  pbft-load's JSON): a stall (a flush, a slow minute of the machine) shows as a few high seconds,
  saturation as a climb that does not come back down. It also sets the verify threads' CPU per tx
  in the 80% run against the peak's: every run asks them for the same n verifies per tx, so the
  difference is how much longer each verify took during that run (a slower host, or more
  contention for the caches), which a 3-second probe between runs can miss.
  Sustained = every tx sent on time (p99 lag < 100 ms), all committed, none rejected, and the
  backlog gone within max(1 s, 10% of the window) after the schedule ended. "50% and 80% of the
  peak" are 0.5 and 0.8 x the peak's ratio x the ceiling measured by the probe just before the run:
  the peak was measured minutes earlier, at another speed of the machine. The summary says what
  fraction of the ceiling around the 80% run it offered.
- **CPU per tx**: utime+stime of the n replica processes (`/proc/PID/stat`) over the window /
  committed txs. **Peak RSS**: `VmHWM` of each replica. **Memory by chain height**: after each run,
  every replica's `VmRSS`, height and RocksDB's memory gauges from `/metrics`
  (`pbft_store_{memtable,block_cache,block_cache_pinned,table_readers}_bytes`). The memtables,
  the block cache (index and filter blocks included) and the node's own tables have fixed caps;
  RocksDB's table readers keep some metadata per SST file outside them, so the memory target
  divides that by the committed txs. **Disk**: `du -sb` of each replica's data
  dir / committed txs, live; and at rest, which the target judges: replica 3's data dir once it
  is stopped for the state transfer and `pbftd compact` has flushed its memtables and compacted
  its store (a live data dir also holds the write-ahead log of whatever no flush has covered yet:
  up to 256 MiB, most of a short run's chain). **View changes**: `view_changes` from every replica's `/status`.
- **Audit**: wall time of `pbft-verify --home` over replica 1's data dir (hash links, Merkle roots,
  every signature, every certificate, full replay), compared with `pbft-load --verify-rate` run
  again right before it (the replicas still up but no longer loaded), since a shared machine's speed
  drifts over minutes. **State transfer**: replica 3 is stopped, its
  data dir deleted and the replica restarted; time until its `/status` height reaches the others'.
- On a 2-core machine the replicas, the load generator and anything else running share the same
  cores. "other CPU" is the share of all cores (from `/proc/stat`) that went to processes outside
  the benchmark during each window; when it is not near 0% the wall-clock figures understate the
  product, and the CPU-per-tx figures (which count only the replicas' own CPU time) are the ones to
  compare across machines. The "uncontended estimate" divides verifies by the CPU time the
  verifier threads actually received.
""".replace("@LINGER@", str(facts.get("linger_ms"))))
profiles = [(i, os.path.join(work, f"perf-r{i}.txt")) for i in (0, 1)]
profiles = [(i, f) for i, f in profiles if os.path.exists(f) and os.path.getsize(f)]
if profiles:
    md.append("## Profile at the peak (`--perf`)\n")
    md.append("`perf record -F 999 -g -p PID` of replica 0 (the primary in view 0) and replica 1 (a backup,"
              " also the one the commit watcher polls) during one more closed-loop run at the peak"
              " concurrency; samples by shared object, by thread (all threads are named pbftd; the"
              " main thread runs the event loop and consensus) and by symbol (libcrypto has no symbols"
              " in this distribution's build).\n")
    for i, f in profiles:
        md.append(f"Replica {i}:\n\n```\n" + open(f).read().rstrip() + "\n```\n")
md.append("""## Rerun

```
make bench                 # every benchmark binary, then this cluster run (~5-10 min)
make bench QUICK=1         # short version (< 2 min)
make bench-soak            # 10 min of load, every replica's memory by chain height (docs/SOAK.md)
bash tests/bench/cluster.sh --build build/release [--quick] [--perf] [--keep] [--out FILE]
build/release/bin/pbft-load --help     # the load generator on its own, against any testnet dir
tests/bench/compare.sh --rounds 5 OLD_BUILD NEW_BUILD   # A/B two builds (or settings), alternated
```
""")
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w") as f:
    f.write("\n".join(md))
EOF
}

# ---------------------------------------------------------------- 1. ceiling
# One speed probe: pbft-load --verify-rate; sets probe_rate (verifies/s)
# and probe_cpu (verifies per CPU-second), 0 when it measured nothing.
probe() { # name
    "$bin/pbft-load" --verify-rate --seconds "$VERIFY_S" >"$work/probe-$1.json" 2>"$work/probe-$1.err"
    probe_rate=$(json_get "$work/probe-$1.json" verify_per_s 2>/dev/null || echo 0)
    probe_cpu=$(json_get "$work/probe-$1.json" verify_per_cpu_s 2>/dev/null || echo 0)
}
log "work dir $work; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
fact loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
probe start
cat "$work/probe-start.err" >&2
verify_rate=$probe_rate
if ! python3 -c "import sys; sys.exit(0 if $verify_rate > 0 else 1)"; then
    echo "cluster: pbft-load --verify-rate measured nothing; no ceiling to compare runs with" >&2
    exit 1
fi
fact verify_rate "$verify_rate"
fact verify_per_cpu_s "$probe_cpu"
ceiling=$(python3 -c "print(int(float('$verify_rate') / $N))")
fact ceiling "$ceiling"
log "ceiling = $verify_rate / $N = $ceiling tx/s"

# The machine's speed drifts by 10-25% within minutes (other tenants of the
# host), so one probe at the start is not the speed every run had: a probe
# runs after every load run too, and each run is held against the mean of
# the probes just before and just after it (its "x ceiling").
prev_rate=$verify_rate
prev_cpu=$probe_cpu
bracket() { # label: probe after the run; sets run_speed (verifies/s around it)
    probe "$1"
    fact "probe_rate_$1" "$probe_rate"
    run_speed=$(python3 -c "print(($prev_rate + $probe_rate) / 2 if $probe_rate > 0 else $prev_rate)")
    fact "speed_$1" "$run_speed"
    fact "speed_cpu_$1" "$(python3 -c "print(($prev_cpu + $probe_cpu) / 2 if $probe_cpu > 0 else $prev_cpu)")"
    if python3 -c "import sys; sys.exit(0 if $probe_rate > 0 else 1)"; then
        prev_rate=$probe_rate prev_cpu=$probe_cpu
    fi
}

# ---------------------------------------------------------------- 2. testnet
base_port=$(free_base_port)
[ -n "$base_port" ] || { echo "cluster: no free ports" >&2; exit 1; }
if ! "$bin/pbftd" testnet --dir "$net" -n $N --base-port "$base_port" --accounts "$accounts" \
    --balance 1000000000 "${chain_args[@]}" >"$work/testnet.log" 2>&1; then
    echo "cluster: pbftd testnet failed:" >&2
    tail -20 "$work/testnet.log" >&2
    exit 1
fi
log "testnet: n=$N, $accounts accounts, base port $base_port"
for i in $(seq 0 $((N - 1))); do start_replica "$i"; done
for i in $(seq 0 $((N - 1))); do
    wait_health "$i" "$HEALTH_DEADLINE" || exit 1
done
log "all $N replicas healthy (pids $(pid_list))"
fact pids "$(pid_list)"

# ---------------------------------------------------------------- soak
# --soak S: instead of the benchmark, one closed-loop run of S seconds with
# every replica's memory sampled every SOAK_EVERY seconds, to show what a
# replica's memory does as its chain grows (docs/SOAK.md).
if [ "$soak" -gt 0 ]; then
    SOAK_EVERY=15
    log "soak: closed loop C=16 x B=$BATCH for $soak s; memory every $SOAK_EVERY s"
    "$bin/pbft-load" --dir "$net" --pids "$(pid_list)" --label soak --binary --closed 16 \
        --batch "$BATCH" --per-account "$PER_ACCOUNT" --seconds "$soak" --warmup 1 \
        --drain "$DRAIN" >"$work/run-soak.json" 2>"$work/run-soak.err" &
    load_pid=$!
    t0=$SECONDS
    while kill -0 "$load_pid" 2>/dev/null; do
        mem_snapshot "$((SECONDS - t0))"
        sleep "$SOAK_EVERY" # a sampling period, not a wait for a condition
    done
    wait "$load_pid"
    load_rc=$?
    load_pid=""
    sed 's/^/    /' "$work/run-soak.err" >&2
    mem_snapshot "$((SECONDS - t0))"
    grep -q '^{' "$work/run-soak.json" || { log "the soak run produced no figures (pbft-load exit $load_rc)"; exit 1; }
    python3 - "$work" "$out" "$command_line" \
        "$(commit_measured)" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" <<'PY'
import json, os, sys, time
work, out, command, commit, cpu = sys.argv[1:6]
run = json.loads([l for l in open(os.path.join(work, "run-soak.json")) if l.startswith("{")][-1])
rows = {}
for line in open(os.path.join(work, "mem.tsv")):
    f = line.rstrip("\n").split("\t")
    if len(f) < 7 or not f[2] or not f[4]:
        continue
    g = {k.replace("pbft_store_", "").replace("pbft_", "").replace("_bytes", ""): float(v)
         for k, v in (kv.split("=", 1) for kv in f[6].split())}
    rows.setdefault(int(f[0]), []).append(dict(rss=float(f[2]) / 1024, hwm=float(f[3]) / 1024,
                                               height=int(f[4]), txs=int(f[5]), **g))
def mean(rs, k): return sum(r.get(k, 0) for r in rs) / len(rs)
samples = []
alloc_high = 0.0
for t in sorted(rows):
    rs = rows[t]
    s = dict(t=t, height=max(r["height"] for r in rs), txs=max(r["txs"] for r in rs),
             rss=mean(rs, "rss"), hwm=max(r["hwm"] for r in rs), memtable=mean(rs, "memtable") / 2**20,
             cache=mean(rs, "block_cache") / 2**20, pinned=mean(rs, "block_cache_pinned") / 2**20,
             readers=mean(rs, "table_readers") / 1024, l0=max(r.get("l0_files", 0) for r in rs),
             pending=max(r.get("pending_compaction", 0) for r in rs) / 2**20,
             alloc=mean(rs, "heap_allocated") / 2**20, free=mean(rs, "heap_free") / 2**20)
    # what malloc has handed out beyond RocksDB's two capped parts: the
    # node's own tables, RocksDB's per-file state, buffers in flight
    s["own"] = s["alloc"] - s["memtable"] - s["cache"]
    alloc_high = max(alloc_high, s["alloc"])
    s["footprint"], s["alloc_high"] = s["alloc"] + s["free"], alloc_high
    s["rest"] = s["rss"] - s["memtable"] - s["cache"]
    samples.append(s)
loaded = [s for s in samples if s["txs"] > 0]
final = loaded[-1] if loaded else None
def slope(pts, k):  # least squares, MiB per million txs
    if len(pts) < 3: return None
    xs = [p["txs"] / 1e6 for p in pts]; ys = [p[k] for p in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    d = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / d if d else None
half = [s for s in loaded if final and s["txs"] >= final["txs"] / 2]
head = ["s", "height", "committed txs", "VmRSS MiB (mean)", "VmHWM MiB (max)", "memtables MiB",
        "block cache MiB", "of it pinned MiB", "table readers KiB", "RSS - memtables - cache MiB",
        "heap allocated MiB", "allocated - memtables - cache MiB", "resident - allocated MiB",
        "L0 files (max)", "compaction debt MiB (max)"]
table = [[str(s["t"]), f"{s['height']:,}", f"{s['txs']:,}", f"{s['rss']:.0f}", f"{s['hwm']:.0f}",
          f"{s['memtable']:.0f}", f"{s['cache']:.1f}", f"{s['pinned']:.1f}", f"{s['readers']:.0f}",
          f"{s['rest']:.0f}", f"{s['alloc']:.0f}", f"{s['own']:.1f}", f"{s['free']:.0f}",
          f"{s['l0']:.0f}", f"{s['pending']:.0f}"] for s in loaded]
summary = [f"load: {run.get('tps', 0):,.0f} tx/s committed over {run.get('window_s', 0):.0f} s "
           f"({run.get('window_txs', 0):,} txs, {run.get('txs_per_block', 0):.0f} tx/block), "
           f"view changes {run.get('view_changes')}"]
if final and half:
    fmt = lambda v: "-" if v is None else f"{v:+.1f}"
    summary.append(f"second half of the chain ({half[0]['txs']:,} to {final['txs']:,} txs, {len(half)} samples): "
                   f"VmRSS {min(s['rss'] for s in half):.0f}-{max(s['rss'] for s in half):.0f} MiB, "
                   f"least-squares slope {fmt(slope(half, 'rss'))} MiB per million txs; without the memtables "
                   f"and the block cache {min(s['rest'] for s in half):.0f}-{max(s['rest'] for s in half):.0f} MiB, "
                   f"slope {fmt(slope(half, 'rest'))} MiB per million txs")
    summary.append(f"malloc over the second half: allocated outside the memtables and block cache "
                   f"{min(s['own'] for s in half):.1f}-{max(s['own'] for s in half):.1f} MiB, slope "
                   f"{fmt(slope(half, 'own'))} MiB per million txs (memory that grew with the chain would show "
                   f"here); resident beyond what is allocated {min(s['free'] for s in half):.0f}-"
                   f"{max(s['free'] for s in half):.0f} MiB, slope {fmt(slope(half, 'free'))}")
    summary.append(f"heap footprint (allocated + resident beyond it: what jemalloc keeps resident) against the most allocated so far: "
                   f"{half[0]['footprint']:.0f} / {half[0]['alloc_high']:.0f} MiB = "
                   f"{half[0]['footprint'] / max(1e-9, half[0]['alloc_high']):.2f} at half the chain, "
                   f"{final['footprint']:.0f} / {final['alloc_high']:.0f} MiB = "
                   f"{final['footprint'] / max(1e-9, final['alloc_high']):.2f} at the end")
    summary.append(f"at the end: table readers (RocksDB's memory outside its caps) {final['readers']:.0f} KiB = "
                   f"{final['readers'] * 1024 / max(1, final['txs']):.4f} bytes per committed tx; "
                   f"block cache {final['cache']:.1f} MiB of 32; memtables {final['memtable']:.0f} MiB "
                   f"(at most 3 x (32 + 32 + 16))")
    summary.append(f"compactions: at most {max(s['l0'] for s in loaded):.0f} L0 files on a replica "
                   f"(RocksDB slows writes down at 20) and {max(s['pending'] for s in loaded):.0f} MiB of "
                   f"estimated compaction debt (RocksDB's estimate counts the chain column family's "
                   f"files, which move down without a rewrite); {final['l0']:.0f} L0 files at the end")
# The load's rate and the replicas' CPU per committed tx, per 5 minutes.
# Every tx costs the verify threads the same n ECDSA verifies all along,
# so their CPU per tx moves with the machine's speed (other tenants of its
# host); the rest of the CPU per tx is what a longer chain could make
# dearer (lookups in a deeper store, compactions).
SLICE_S = 300
def cpu_of(t, k): return sum(r.get(k, 0) for r in rows[t])
periods = []
cpu_samples = [s for s in loaded if all("cpu_s" in r and "consensus_s" in r for r in rows[s["t"]])
               and len(rows[s["t"]]) == len(rows[loaded[0]["t"]])]
start = cpu_samples[0] if cpu_samples else None
for s in cpu_samples[1:]:
    if s["t"] - start["t"] < SLICE_S and s is not cpu_samples[-1]:
        continue
    txs, secs = s["txs"] - start["txs"], s["t"] - start["t"]
    if txs > 0 and secs > 0:
        d = {k: cpu_of(s["t"], k + "_s") - cpu_of(start["t"], k + "_s")
             for k in ("cpu", "verify", "consensus", "storage", "safety", "rocksdb")}
        d["storage"] += d["safety"]
        periods.append(dict(t0=start["t"], t1=s["t"], height=s["height"], txs=s["txs"], tps=txs / secs,
                            verify=d["verify"] * 1e6 / txs, rest=(d["cpu"] - d["verify"]) * 1e6 / txs,
                            consensus=d["consensus"] * 1e6 / txs, storage=d["storage"] * 1e6 / txs,
                            rocksdb=d["rocksdb"] * 1e6 / txs,
                            others=(d["cpu"] - d["verify"] - d["consensus"] - d["storage"] - d["rocksdb"]) * 1e6 / txs,
                            busy=d["cpu"] / secs,
                            l0=max(x["l0"] for x in loaded if start["t"] < x["t"] <= s["t"])))
    start = s
if len(periods) >= 2:
    full = [q for q in periods if q["t1"] - q["t0"] >= SLICE_S]
    first, last = (full[0], full[-1]) if len(full) >= 2 else (periods[0], periods[-1])
    summary.append(f"rate per {SLICE_S // 60} minutes: " + ", ".join(f"{q['tps']:,.0f}" for q in periods) +
                   f" tx/s; the replicas' CPU per committed tx from the first to the last full period: verify "
                   f"threads {first['verify']:.0f} -> {last['verify']:.0f} us (the same ECDSA work all along: "
                   f"this moves with the machine's speed), everything else {first['rest']:.0f} -> "
                   f"{last['rest']:.0f} us (this is what a longer chain would make dearer: consensus "
                   f"{first['consensus']:.0f} -> {last['consensus']:.0f}, storage {first['storage']:.0f} -> "
                   f"{last['storage']:.0f}, rocksdb {first['rocksdb']:.0f} -> {last['rocksdb']:.0f}, the rest "
                   f"{first['others']:.0f} -> {last['others']:.0f}); table below")
md = ["# Memory soak", "",
      "Produced by `tests/bench/cluster.sh --soak SECONDS` (`make bench-soak`): a fresh n=4 testnet on "
      "loopback under one closed-loop run (C=16 POSTs of 120 txs, groups of 3 per account, "
      "1000 accounts), every replica's `VmRSS`, `VmHWM` and RocksDB memory gauges "
      "and malloc gauges (`/metrics`: `pbft_store_*`, `pbft_heap_*`) sampled every 15 s. Rerun it to get yours.", "",
      f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
      f"- command: `{command}`", f"- git commit: `{commit}`",
      f"- machine: {os.cpu_count()} cores, {cpu}, "
      f"{int(open('/proc/meminfo').read().split()[1]) / 2**20:.1f} GiB RAM", "", "## Results", ""]
md += ["- " + s for s in summary] + [""]
md.append("| " + " | ".join(head) + " |")
md.append("|" + "|".join("---" for _ in head) + "|")
md += ["| " + " | ".join(r) + " |" for r in table]
if periods:
    phead = ["s", "height at the end", "committed txs at the end", "tx/s", "verify us/tx", "other us/tx",
             "of it: consensus", "storage", "rocksdb", "the rest", "replica CPU (cores)", "L0 files (max)"]
    md += ["", f"Rate and the replicas' CPU per committed tx, per {SLICE_S} s, summed over the replicas "
           "(`pbft-load --cpu-classes`, the thread split of docs/BENCHMARKS.md: `verify` the "
           "`pbftd-verify` threads, `consensus` the main thread, `storage` the storage and safety-state "
           "threads, `rocksdb` its flush and compaction threads, `the rest` the HTTP threads, exited "
           "ones included, and everything else):", "",
           "| " + " | ".join(phead) + " |", "|" + "|".join("---" for _ in phead) + "|"]
    md += [f"| {q['t0']}-{q['t1']} | {q['height']:,} | {q['txs']:,} | {q['tps']:,.0f} | {q['verify']:.0f} | "
           f"{q['rest']:.0f} | {q['consensus']:.0f} | {q['storage']:.0f} | {q['rocksdb']:.0f} | "
           f"{q['others']:.0f} | {q['busy']:.2f} | {q['l0']:.0f} |" for q in periods]
md += ["", "Memtables fill and flush (32 MiB each in the default and chain column families, 16 MiB in the consensus family, up to 3 each) and the block cache fills to its 32 MiB "
       "capacity, so VmRSS climbs until both have. A replica runs on jemalloc, which hands the "
       "pages of a flushed memtable back to the kernel over about 10 s (its default decay; docs/OPERATIONS.md), so "
       "VmRSS follows the memtables with that lag; the RSS - memtables - cache column takes both "
       "capped parts off VmRSS, and memory that grew with the chain would show there as a climb "
       "that goes on. The malloc columns (jemalloc's `stats.allocated` and `stats.resident`) split "
       "the heap: what is allocated beyond the memtables and the block cache, which a leak would "
       "raise, and what is resident beyond what is allocated (freed pages not yet handed back, "
       "partly used pages, jemalloc's own metadata), which fragmentation would raise.", ""]
open(out, "w").write("\n".join(md))
print("\n".join(summary))
print(f"(written to {out})")
PY
    exit $?
fi

# ---------------------------------------------------------------- 3. runs
# Enough pre-signed txs for a closed run at 3x the ceiling.
closed_txs=$(python3 -c "print(int(max(3000, 3 * $ceiling) * ($WARMUP + $CLOSED_S)))")
# The peak is the best ratio to the ceiling around its run (tx/s alone
# would rise and fall with the machine's speed).
peak=0
peak_ratio=0
peak_label=""
flat=0 # consecutive steps that did not raise the peak ratio by 5%
for c in "${SWEEP[@]}"; do
    if [ $((c * BATCH)) -gt $((accounts * PER_ACCOUNT)) ]; then break; fi
    log "closed loop C=$c B=$BATCH"
    load_run "closed-c$c" --closed "$c" --batch "$BATCH" --per-account "$PER_ACCOUNT" --seconds "$CLOSED_S" \
        --warmup "$WARMUP" --txs "$closed_txs" || continue
    bracket "closed-c$c"
    tps=$(json_get "$work/run-closed-c$c.json" tps)
    ratio=$(python3 -c "print($tps * $N / $run_speed if $run_speed > 0 else 0)")
    log "closed-c$c: $tps tx/s = $(python3 -c "print(f'{$ratio:.2f}')") of the ceiling around it"
    better=$(python3 -c "print(1 if $ratio > 1.05 * $peak_ratio else 0)")
    if python3 -c "import sys; sys.exit(0 if $ratio > $peak_ratio else 1)"; then
        peak=$tps
        peak_ratio=$ratio
        peak_label="closed-c$c"
    fi
    if [ "$better" = 1 ]; then flat=0; else flat=$((flat + 1)); fi
    [ $flat -lt $PATIENCE ] || break
done
fact peak "$peak"
fact peak_ratio "$peak_ratio"
fact peak_label "$peak_label"
log "peak: $peak tx/s = $(python3 -c "print(f'{$peak_ratio:.2f}')") of the ceiling ($peak_label)"
if python3 -c "import sys; sys.exit(0 if $peak > 0 else 1)"; then
    for spec in "100:open-100" "0.5:open-50pct" "0.8:open-80pct"; do
        label=${spec#*:}
        rate=${spec%%:*}
        # X% of the peak: X% of the peak's ratio to the ceiling, at the
        # speed the last probe measured (the peak was measured minutes
        # earlier, at another speed).
        [ "$label" = open-100 ] ||
            rate=$(python3 -c "print(int(${spec%%:*} * $peak_ratio * $prev_rate / $N))")
        fact "offered_at_rate_$label" "$prev_rate"
        [ "$rate" -ge 1 ] || continue
        # At 100 tx/s each tx goes out alone (the latency of one wallet's
        # transfer); at thousands per second one sender waits up to
        # LINGER_MS for the POST to fill, as a batching gateway would, and
        # the txs come in the closed loop's groups (the peak's kind of work).
        # Latency still counts from each tx's scheduled time.
        linger=$LINGER_MS group=$PER_ACCOUNT senders=1
        [ "$label" = open-100 ] && linger=0 group=1 senders=4
        log "open loop $rate tx/s ($label, linger $linger ms, groups of $group, $senders sender(s))"
        load_run "$label" --open "$rate" --seconds "$OPEN_S" --threads "$senders" \
            --batch $((256 / group * group)) --per-account "$group" --linger-ms "$linger" &&
            bracket "$label"
    done
else
    log "the cluster committed nothing under load"
    failed=1
fi

# ---------------------------------------------------------------- 3b. profile
# Summarises one perf.data: by shared object, by thread (threads are all
# named pbftd except libmicrohttpd's), and the top symbols.
perf_summary() { # perf.data main_pid
    perf script -i "$1" -F tid,ip,sym,dso -G 2>/dev/null | PERF_MAIN="$2" python3 -c '
import collections, os, re, sys
main = os.environ.get("PERF_MAIN", "")
tot = 0; tid = collections.Counter(); dso = collections.Counter(); sym = collections.Counter()
tid_dso = collections.defaultdict(collections.Counter)
for line in sys.stdin:
    m = re.match(r"\s*(\d+)\s+[0-9a-f]+\s+(.*?)\s*\((.*)\)\s*$", line)
    if not m: continue
    t, s, d = m.groups(); d = d.split("/")[-1]; s = s if s and s != "[unknown]" else "?"
    tot += 1; tid[t] += 1; dso[d] += 1; sym[(d, s)] += 1; tid_dso[t][d] += 1
if not tot: sys.exit("no samples")
print(f"   {tot} samples")
print("   by shared object: " + ", ".join(f"{d} {100*c/tot:.1f}%" for d, c in dso.most_common(8)))
for t, c in tid.most_common(6):
    lab = " (main)" if t == main else ""
    print(f"   thread {t}{lab}: {100*c/tot:5.1f}% (" + ", ".join(f"{d} {100*x/c:.0f}%" for d, x in tid_dso[t].most_common(3)) + ")")
for (d, s), c in sym.most_common(25):
    print(f"   {100*c/tot:6.2f}%  {d:24s} {s[:100]}")
'
}

if [ $perf = 1 ] && [ -n "$peak_label" ] && command -v perf >/dev/null; then
    c=${peak_label#closed-c}
    log "perf record -g of replica 0 (primary) and 1 (backup) during a closed run at C=$c"
    perf_pids=()
    for i in 0 1; do
        perf record -F 999 -g -o "$work/perf-r$i.data" -p "${pids[$i]}" \
            >"$work/perf-record-r$i.log" 2>&1 &
        perf_pids+=($!)
    done
    sleep 0.5
    "$bin/pbft-load" --dir "$net" --pids "$(pid_list)" --label "perf-c$c" --binary --drain "$DRAIN" \
        --closed "$c" --batch "$BATCH" --per-account "$PER_ACCOUNT" --seconds "$CLOSED_S" \
        --warmup 1 --txs "$closed_txs" >"$work/run-perf.json" 2>"$work/run-perf.err"
    sed 's/^/    /' "$work/run-perf.err" | grep -v '^    pbft-load: [0-9]* accounts' >&2
    for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${perf_pids[@]}"; do wait "$p" 2>/dev/null; done
    for i in 0 1; do
        echo "== perf: replica $i (pid ${pids[$i]})" >&2
        perf_summary "$work/perf-r$i.data" "${pids[$i]}" | tee "$work/perf-r$i.txt" >&2
    done
fi

# ---------------------------------------------------------------- 4. chain, disk, RSS
"$bin/pbft-load" --chain-stats --dir "$net" --watch 0 >"$work/chain.json" 2>/dev/null
chain_height=$(json_get "$work/chain.json" height 2>/dev/null || echo 0)
chain_txs=$(json_get "$work/chain.json" txs 2>/dev/null || echo 0)
fact chain_height "$chain_height"
fact chain_txs "$chain_txs"
for i in $(seq 0 $((N - 1))); do
    v=$(status_field "$i" view_changes)
    fact "view_changes_$i" "${v:-?}"
    fact "view_$i" "$(status_field "$i" view)"
done
for i in $(seq 0 $((N - 1))); do
    fact "disk_bytes_$i" "$(du -sb "$net/node$i/data" 2>/dev/null | cut -f1)"
    fact "disk_wal_bytes_$i" "$(cat "$net/node$i/data/"*.log 2>/dev/null | wc -c)"
    fact "disk_sst_bytes_$i" "$(cat "$net/node$i/data/"*.sst 2>/dev/null | wc -c)"
    fact "vmhwm_kb_$i" "$(awk '/VmHWM/ {print $2}' "/proc/${pids[$i]}/status" 2>/dev/null)"
done
log "chain: height $chain_height, $chain_txs txs"

# ---------------------------------------------------------------- 5. pbft-verify
if [ -x "$bin/pbft-verify" ] && [ "$chain_height" != 0 ]; then
    # The verify rate again, next to the audit: a shared machine's speed
    # drifts over minutes, and the audit is compared with what a core did then.
    probe audit
    fact verify_rate_end "$probe_rate"
    fact verify_per_cpu_s_end "$probe_cpu"
    log "pbft-verify --home $net/node1"
    # wall time and the CPU time it used (user+sys of the child)
    python3 -c '
import resource, subprocess, sys, time
t = time.time()
with open(sys.argv[1], "w") as out:
    rc = subprocess.run(sys.argv[3:], stdout=out, stderr=subprocess.STDOUT).returncode
wall = time.time() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[2], "w").write(f"{rc} {wall:.3f} {ru.ru_utime + ru.ru_stime:.3f}\n")
' "$work/verify.out" "$work/verify.time" "$bin/pbft-verify" --home "$net/node1"
    read -r verify_rc verify_wall verify_cpu <"$work/verify.time"
    fact verify_rc "$verify_rc"
    fact verify_seconds "$verify_wall"
    fact verify_cpu_seconds "$verify_cpu"
    tail -5 "$work/verify.out" | sed 's/^/    /' >&2
    cp "$work/verify.out" "$work/verify.txt"
    if [ "$verify_rc" != 0 ]; then
        log "pbft-verify FAILED (exit $verify_rc)"
        failed=1
    fi
else
    fact verify_rc "missing"
    log "pbft-verify not built or empty chain: audit skipped"
fi

# ---------------------------------------------------------------- 6. state transfer
if [ "$chain_height" != 0 ]; then
    target=0
    for i in 0 1 2; do
        h=$(status_field "$i" height)
        [ -n "$h" ] && [ "$h" -gt "$target" ] && target=$h
    done
    log "state transfer: replica 3 stopped, data removed, restarted; target height $target"
    stop_replica 3
    # The chain at rest, before replica 3's data dir goes: `pbftd compact`
    # writes its accounts back, flushes its memtables and compacts its
    # store. A live data dir also holds the write-ahead log of whatever no
    # flush has covered yet (up to 256 MiB; in a soak the default family
    # first flushed at 477,946 entries, about 460,000 txs), which is most
    # of a short run's chain and none of what a tx costs for good.
    t_c=$(date +%s.%N)
    if "$bin/pbftd" compact --home "$net/node3" >"$work/compact.out" 2>&1; then
        t_c1=$(date +%s.%N)
        fact compact_seconds "$(python3 -c "print(round($t_c1 - $t_c, 3))")"
        fact compact_txs_3 "$(sed -n 's/.*height [0-9]*, \([0-9]*\) txs.*/\1/p' "$work/compact.out")"
        fact disk_bytes_at_rest_3 "$(du -sb "$net/node3/data" 2>/dev/null | cut -f1)"
        fact disk_wal_bytes_at_rest_3 "$(cat "$net/node3/data/"*.log 2>/dev/null | wc -c)"
    else
        log "pbftd compact --home $net/node3 failed: $(tail -1 "$work/compact.out")"
    fi
    rm -rf "$net/node3/data"
    t0=$(date +%s.%N)
    start_replica 3
    caught=0
    deadline=$((SECONDS + CATCHUP_DEADLINE))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "${pids[3]}" 2>/dev/null || { log "replica 3 exited while catching up"; break; }
        h=$(status_field 3 height)
        if [ -n "$h" ] && [ "$h" -ge "$target" ]; then caught=1; break; fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    fact catchup_ok "$caught"
    fact catchup_target "$target"
    fact catchup_seconds "$(python3 -c "print(round($t1 - $t0, 3))")"
    reached=$(status_field 3 height)
    fact catchup_height "${reached:-0}"
    fact catchup_vmhwm_kb "$(awk '/VmHWM/ {print $2}' "/proc/${pids[3]}/status" 2>/dev/null)"
    fact disk_bytes_after_catchup_3 "$(du -sb "$net/node3/data" 2>/dev/null | cut -f1)"
    if [ $caught = 1 ]; then
        # the caught-up replica must hold the same block at the target height
        h3=$(curl -sf -m 10 "$(url 3)/block/$target" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])' 2>/dev/null)
        h0=$(curl -sf -m 10 "$(url 0)/block/$target" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])' 2>/dev/null)
        if [ -n "$h3" ] && [ "$h3" = "$h0" ]; then
            fact catchup_hash_match 1
        else
            fact catchup_hash_match 0
            log "replica 3 block $target hash '$h3' != replica 0 '$h0'"
            failed=1
        fi
    else
        log "replica 3 reached ${reached:-0} of $target within $CATCHUP_DEADLINE s (rate measured on that part)"
    fi
fi
fact loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- 7. stop, report
for i in "${!pids[@]}"; do stop_replica "$i"; done
left=""
for f in "$net"/node*/bench.pid; do
    p=$(cat "$f")
    kill -0 "$p" 2>/dev/null && left="$left $p"
done
[ -z "$left" ] || { log "processes left behind:$left"; failed=1; }

fact quick "$quick"
fact accounts "$accounts"
fact batch "$BATCH"
fact linger_ms "$LINGER_MS"
fact per_account "$PER_ACCOUNT"
fact n "$N"
fact failed "$failed"
fact command_line "$command_line"
fact commit "$(commit_measured)"
fact cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
fact ram_gib "$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
fact nproc "$(nproc)"
fact date "$(date -u '+%Y-%m-%d %H:%M UTC')"
fact elapsed_s "$((SECONDS - started))"

report "$work" "$out"
report_rc=$?
[ $report_rc = 0 ] || failed=1
[ $failed = 0 ]
