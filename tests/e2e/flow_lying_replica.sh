#!/usr/bin/env bash
# tests/e2e/flow_lying_replica.sh — a lying replica (test double,
# flow_lying_replica.py) serves forged receipts; `pbft-wallet send` and
# `pbft-wallet confirm` must refuse every one of them (exit 65) and never
# print success, while the same transaction confirms through an honest replica.
set -euo pipefail
source "$(dirname "$0")/flow_lib.bash"
double="$(dirname "$0")/flow_lying_replica.py"

start_double() { # start_double PORT [UPSTREAM]
    python3 "$double" "$@" 2>>"$work/double.log" &
    extra_pids+=($!)
    wait_until 30 "test double on port $1" \
        bash -c "curl -s -o /dev/null -m 2 http://127.0.0.1:$1/health"
}

refused() { # refused OUTPUT RC — exit 65 and no success line
    echo "$1"
    [ "$2" = 65 ] || fail "expected exit 65, got $2"
    if echo "$1" | grep -q "receipt verified"; then fail "printed success for a forged receipt"; fi
}

step "testnet up"
tn_up
honest=("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --node "http://$(replica_http 0)")

step "forge mode: a replica that invents a block and a certificate"
port_forge=$(free_port)
start_double "$port_forge"
set +e
out=$("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --node "http://127.0.0.1:$port_forge" \
    --timeout 20 --from alice send --to bob --amount 1 2>&1)
rc=$?
set -e
refused "$out" $rc
echo "$out" | grep -q "REFUSED" || fail "no REFUSED message"

step "proxy in front of replica 0, honest first (control)"
port_proxy=$(free_port)
start_double "$port_proxy" "http://$(replica_http 0)"
lying=("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --node "http://127.0.0.1:$port_proxy" --timeout 60)
"${lying[@]}" --from alice send --to bob --amount 2 | tee "$work/honest.out"
grep -q "receipt verified" "$work/honest.out" || fail "honest proxy: no verified receipt"

amount=3
for mode in merkle leaf cert-sig cert-short other-tx; do
    step "lying mode $mode: send and confirm must refuse"
    curl -s -m 5 -X POST --data "$mode" "http://127.0.0.1:$port_proxy/__mode" >/dev/null
    set +e
    out=$("${lying[@]}" --from alice send --to bob --amount $amount 2>&1)
    rc=$?
    set -e
    refused "$out" $rc
    id=$(echo "$out" | sed -n 's/^tx \([0-9a-f]\{64\}\)$/\1/p' | head -1)
    [ -n "$id" ] || fail "no tx id in the output"
    set +e
    out=$("${lying[@]}" confirm "$id" 2>&1)
    rc=$?
    set -e
    refused "$out" $rc
    # The tx really committed: an honest replica's receipt verifies.
    "${honest[@]}" confirm "$id" | grep -q "receipt verified" || fail "honest confirm of $id failed"
    amount=$((amount + 1))
done

step "lying about the result: genuine receipt, result flipped to insufficient_funds"
curl -s -m 5 -X POST --data result "http://127.0.0.1:$port_proxy/__mode" >/dev/null
# liar + one honest replica: 1 against 1, f+1 = 2 needed -> refused
set +e
out=$("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --timeout 60 \
    --node "http://127.0.0.1:$port_proxy,http://$(replica_http 1)" --from alice send --to bob --amount 20 2>&1)
rc=$?
set -e
refused "$out" $rc
echo "$out" | grep -q "do not agree on its result" || fail "no disagreement reported"
# liar + two honest replicas: the f+1 honest reports win, the liar is named
out=$("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --timeout 60 \
    --node "http://127.0.0.1:$port_proxy,http://$(replica_http 1),http://$(replica_http 2)" \
    --from alice send --to bob --amount 21 2>&1)
echo "$out"
echo "$out" | grep -q "result ok reported by 2 replicas" || fail "honest majority not reported"
echo "$out" | grep -q "warning: 1 replica (e.g. http://127.0.0.1:$port_proxy)" || fail "liar not named"

"$testnet" -d "$tn_dir" down
echo "flow_lying_replica: OK"
