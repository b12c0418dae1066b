# tests/e2e/flow_lib.bash — helpers shared by the flow_* and tamper_* tests
# (sourced, not run: the name does not end in .sh).
#
# Every test: picks free ports, waits on conditions with generous deadlines,
# cleans up by pid in an EXIT trap.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${PBFT_BIN:-$repo/build/release/bin}
testnet="$repo/testnet/testnet"
export PBFT_BIN="$bin"

for b in pbftd pbft-wallet pbft-verify; do
    [ -x "$bin/$b" ] || { echo "missing $bin/$b (make first)"; exit 1; }
done

work=$(mktemp -d /tmp/pbft-e2e.XXXXXX)
tn_dir="$work/tn"
extra_pids=()

cleanup() {
    local rc=$?
    if [ -f "$tn_dir/testnet.json" ]; then "$testnet" -d "$tn_dir" down >/dev/null 2>&1 || true; fi
    for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ $rc -ne 0 ] && [ -d "$tn_dir" ]; then
        for log in "$tn_dir"/node*/pbftd.log; do
            [ -f "$log" ] || continue
            echo "=== last lines of $log"
            tail -n 15 "$log"
        done
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT

step() { echo; echo "### $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# pick_base_port N — a base port P with P..P+2N-1 all free on 127.0.0.1.
pick_base_port() {
    python3 - "$1" <<'PY'
import random, socket, sys
n = 2 * int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            socks.append(s)
        print(base)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
sys.exit("no free port range")
PY
}

free_port() { pick_base_port 1; }

# wait_until DEADLINE_S DESCRIPTION CMD... — polls CMD until it succeeds.
wait_until() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for: $what"
        sleep 0.2
    done
}

# json_get FIELD — reads one top-level field of the JSON on stdin.
json_get() { python3 -c "import json,sys; v=json.load(sys.stdin).get('$1'); print('' if v is None else (str(v).lower() if isinstance(v,bool) else v))"; }

tn_up() { # tn_up [extra testnet args] — 4 replicas on free ports in $tn_dir
    local base
    base=$(pick_base_port 4)
    "$testnet" up -d "$tn_dir" --base-port "$base" "$@"
    nodes=$(python3 -c "import json; print(','.join('http://'+r['http'] for r in json.load(open('$tn_dir/testnet.json'))['replicas']))")
    wallet=("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --node "$nodes")
}

replica_http() { python3 -c "import json; print(json.load(open('$tn_dir/testnet.json'))['replicas'][$1]['http'])"; }
status_field() { curl -s -m 2 "http://$(replica_http "$1")/status" | json_get "$2"; }

# at_least_height I H — replica I reports height >= H
at_least_height() {
    local h
    h=$(status_field "$1" height 2>/dev/null || true)
    [[ "$h" =~ ^[0-9]+$ ]] && [ "$h" -ge "$2" ]
}
