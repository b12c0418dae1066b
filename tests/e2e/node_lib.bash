# tests/e2e/node_lib.bash — helpers for the node end-to-end tests (sourced,
# not run: tests/run.sh only runs *.sh).
#
# Real pbftd processes on loopback. Every wait polls a condition with a
# generous deadline (the suite must pass on a loaded 2-core machine); every
# process we start is tracked by pid and killed by pid in the EXIT trap.

set -u
PBFT_BIN=${PBFT_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/release/bin}
PBFTD=$PBFT_BIN/pbftd
WALLET=$PBFT_BIN/pbft-wallet
N=${N:-4}
declare -a NODE_PID=()
declare -a EXTRA_PIDS=()
TN=""
BASE_PORT=""

# jq is not among the build's dependencies (tools/deps.sh); when it is
# missing, a python3 stand-in covers the few filters these tests use.
if ! command -v jq >/dev/null 2>&1; then
    jq() {
        python3 -c '
import json, re, sys
args = sys.argv[1:]
raw = compact = exit_status = False
while args and args[0].startswith("-") and len(args[0]) > 1:
    raw |= "r" in args[0]; compact |= "c" in args[0]; exit_status |= "e" in args[0]; args.pop(0)
filt, files = args[0], args[1:]
try:
    data = json.load(open(files[0])) if files else json.load(sys.stdin)
except Exception:
    sys.exit(4)
def path(v, p):
    for m in re.finditer(r"\.(\w+)|\[(\d+)\]", p):
        if v is None: return None
        v = v.get(m.group(1)) if m.group(1) else (v[int(m.group(2))] if int(m.group(2)) < len(v) else None)
    return v
out, m = [], None
if (m := re.fullmatch(r"if has\(\"(\w+)\"\) then \.(\w+) else empty end", filt)):
    if isinstance(data, dict) and m.group(1) in data: out.append(data[m.group(2)])
elif (m := re.fullmatch(r"has\(\"(\w+)\"\)", filt)):
    out.append(isinstance(data, dict) and m.group(1) in data)
elif (m := re.fullmatch(r"\{([\w, ]+)\}", filt)):
    out.append({k.strip(): data.get(k.strip()) for k in m.group(1).split(",")})
elif (m := re.fullmatch(r"(.*) \| length", filt)):
    out.append(len(path(data, m.group(1))))
else:
    out.append(path(data, filt))
for v in out:
    if raw and isinstance(v, str): print(v)
    elif isinstance(v, bool): print("true" if v else "false")
    elif v is None: print("null")
    else: print(json.dumps(v, separators=(",", ":")) if compact or not isinstance(v, (dict, list)) else json.dumps(v))
if exit_status and out and out[-1] in (False, None): sys.exit(1)
' "$@"
    }
fi

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
    log "FAIL: $*"
    for i in $(seq 0 $((N - 1))); do
        [ -n "$TN" ] && [ -f "$TN/node$i/pbftd.log" ] || continue
        echo "---- node$i log (last 25 lines)"
        tail -25 "$TN/node$i/pbftd.log"
    done
    exit 1
}

cleanup() {
    local pid
    for pid in "${NODE_PID[@]}" "${EXTRA_PIDS[@]}"; do
        [ -n "$pid" ] || continue
        kill -CONT "$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${NODE_PID[@]}"; do [ -n "$pid" ] && wait_gone "$pid"; done
    wait 2>/dev/null
    if [ -n "$TN" ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$TN"; fi
}
trap cleanup EXIT

# A base port P with P..P+2N free (bind test), retried on collisions.
pick_base_port() {
    python3 - "$N" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - 2 * n, 2)
    socks = []
    try:
        for p in range(base, base + 2 * n):
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

# make_testnet [extra pbftd testnet flags...]
make_testnet() {
    TN=$(mktemp -d /tmp/pbft-e2e.XXXXXX)
    BASE_PORT=$(pick_base_port)
    [ -n "$BASE_PORT" ] || fail "no free ports"
    rmdir "$TN"
    "$PBFTD" testnet --dir "$TN" -n "$N" --base-port "$BASE_PORT" "$@" >/dev/null ||
        fail "pbftd testnet failed"
    log "testnet in $TN, base port $BASE_PORT"
}

http_addr() { echo "127.0.0.1:$((BASE_PORT + 2 * $1 + 1))"; }
nn_port() { echo $((BASE_PORT + 2 * $1)); }

# Started from a subshell so the replicas are not jobs of this script (no
# "Killed" chatter); the pid goes to the testnet's pid file.
start_node() { # i [extra flags]
    local i=$1; shift
    ("$PBFTD" --home "$TN/node$i" "$@" >>"$TN/node$i/pbftd.log" 2>&1 &
        echo $! >"$TN/node$i/pbftd.pid")
    NODE_PID[$i]=$(cat "$TN/node$i/pbftd.pid")
}

# Waits (bounded) until a pid we signalled is gone.
wait_gone() {
    local k
    for k in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    return 1
}

node_alive() { kill -0 "${NODE_PID[$1]}" 2>/dev/null; }

kill_node() { # i [signal]
    local i=$1 sig=${2:-KILL}
    kill -"$sig" "${NODE_PID[$i]}" 2>/dev/null
    if [ "$sig" = KILL ] || [ "$sig" = TERM ] || [ "$sig" = INT ]; then
        wait_gone "${NODE_PID[$i]}" || fail "replica $i did not exit after SIG$sig"
        NODE_PID[$i]=""
    fi
}

# get i PATH -> body on stdout (empty on failure)
get() { curl -s --max-time 5 "http://$(http_addr "$1")$2"; }
status_field() { get "$1" /status | jq -r "if has(\"$2\") then .$2 else empty end" 2>/dev/null; }
height() { local h; h=$(status_field "$1" height); echo "${h:-0}"; }

# wait_until DEADLINE_S DESCRIPTION COMMAND... (polls every 0.2 s)
wait_until() {
    local deadline=$(($(date +%s) + $1)) what=$2; shift 2
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for: $what"
        sleep 0.2
    done
}

healthy() { [ "$(get "$1" /health | jq -r .status 2>/dev/null)" = ok ]; }
all_healthy() { local i; for i in "$@"; do healthy "$i" || return 1; done; }
start_all() { local i; for i in $(seq 0 $((N - 1))); do start_node "$i"; done; }
wait_all_healthy() { wait_until 60 "all replicas healthy" all_healthy $(seq 0 $((N - 1))); }

# at_least i H: replica i has executed height >= H
at_least() { [ "$(height "$1")" -ge "$2" ]; }
all_at_least() { local h=$1 i; shift; for i in "$@"; do at_least "$i" "$h" || return 1; done; }

# Account names and addresses from testnet.json.
account_addr() { jq -r ".accounts[$1].address" "$TN/testnet.json"; }
account_name() { jq -r ".accounts[$1].name" "$TN/testnet.json"; }

wallet() { "$WALLET" --keystore "$TN/accounts" --genesis "$TN/accounts/genesis.json" "$@"; }

# sign_txs ACCOUNT_INDEX COUNT OUTDIR [first_nonce]: offline-signed transfers
# to the next account, one JSON file per tx ({"id","tx",...}).
sign_txs() {
    local from to count=$2 dir=$3 nonce=${4:-0} k
    from=$(account_name "$1")
    to=$(account_addr $((($1 + 1) % $(jq '.accounts | length' "$TN/testnet.json"))))
    mkdir -p "$dir"
    for k in $(seq "$nonce" $((nonce + count - 1))); do
        wallet --from "$from" sign --to "$to" --amount 1 --nonce "$k" -o "$dir/$from-$k.json" \
            >/dev/null || fail "wallet sign failed"
    done
}

# submit i FILE -> HTTP code (202/200 accepted)
submit() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -XPOST --data @"$2" \
               "http://$(http_addr "$1")/tx"; }

tx_status() { get "$1" "/tx/$2" | jq -r .status 2>/dev/null; }
committed_on() { [ "$(tx_status "$1" "$2")" = committed ]; }
all_committed() { # i id...
    local i=$1 id; shift
    for id in "$@"; do committed_on "$i" "$id" || return 1; done
}

block_hash() { get "$1" "/block/$2" | jq -r .hash 2>/dev/null; }

# same_chain H replicas...: identical block hashes at heights 1..H.
same_chain() {
    local top=$1 h i ref; shift
    for h in $(seq 1 "$top"); do
        ref=$(block_hash "$1" "$h")
        [ -n "$ref" ] && [ "$ref" != null ] || fail "replica $1 has no block $h"
        for i in "$@"; do
            [ "$(block_hash "$i" "$h")" = "$ref" ] || fail "block $h differs on replica $i"
        done
    done
}

primary() { status_field "$1" primary; }
view() { status_field "$1" view; }

# Background load: posts the signed tx files in DIR round-robin to the
# given replicas, ~RATE per second, recording accepted ids in DIR/accepted.
load_start() { # dir rate replicas...
    local dir=$1 rate=$2; shift 2
    (
        set +e
        k=0
        for f in "$dir"/*.json; do
            i=${@:$((k % $# + 1)):1}
            code=$(submit "$i" "$f")
            case $code in 200 | 202) jq -r .id "$f" >>"$dir/accepted" ;; esac
            k=$((k + 1))
            sleep "$(awk "BEGIN{print 1/$rate}")"
        done
    ) &
    EXTRA_PIDS+=($!)
    LOAD_PID=$!
}
