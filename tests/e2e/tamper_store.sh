#!/usr/bin/env bash
# tests/e2e/tamper_store.sh — corrupt a stopped replica's RocksDB and check
# that pbft-verify fails and names the height and the reason:
#   1. one stored tx amount altered          (replica 3)
#   2. one commit-certificate signature byte (replica 2)
# The corruption goes through store_debug_put_raw behind pbft-verify's
# hidden --debug-tamper test hook (see tools/verify/main.c).
set -euo pipefail
source "$(dirname "$0")/flow_lib.bash"

step "testnet up; three committed payments"
tn_up
"${wallet[@]}" new mallory >/dev/null
heights=()
for amount in 11 12 13; do
    out=$("${wallet[@]}" --timeout 60 --json --from alice send --to mallory --amount $amount)
    [ "$(echo "$out" | json_get result)" = ok ] || fail "send $amount failed: $out"
    heights+=("$(echo "$out" | json_get height)")
done
echo "payments committed at heights ${heights[*]}"
last=${heights[2]}
for i in 2 3; do
    wait_until 60 "replica $i at height $last" at_least_height "$i" "$last"
done

step "stop replicas 2 and 3; their stores audit OK before tampering"
"$testnet" -d "$tn_dir" stop 3
"$testnet" -d "$tn_dir" stop 2
"$bin/pbft-verify" --home "$tn_dir/node3"
"$bin/pbft-verify" --home "$tn_dir/node2"

expect_failure() { # expect_failure HOME HEIGHT REASON
    local out rc
    set +e
    out=$("$bin/pbft-verify" --home "$1" 2>&1)
    rc=$?
    set -e
    echo "$out"
    [ $rc = 1 ] || fail "pbft-verify exited $rc, expected 1"
    echo "$out" | grep -q "^height $2: .*$3" || fail "expected \"height $2: ...$3\""
    if echo "$out" | grep -q "verified heights"; then fail "printed success on a corrupt store"; fi
}

step "replica 3: alter the amount of a stored tx at height ${heights[0]}"
"$bin/pbft-verify" --home "$tn_dir/node3" --debug-tamper "tx-amount:${heights[0]}"
expect_failure "$tn_dir/node3" "${heights[0]}" "Merkle root"
all=$("$bin/pbft-verify" --home "$tn_dir/node3" --keep-going || true)
echo "$all"
echo "$all" | grep -q "^height ${heights[0]}: tx 0: bad signature" ||
    fail "--keep-going does not list the bad signature"

step "replica 2: flip one byte of a commit-certificate signature at height ${heights[1]}"
"$bin/pbft-verify" --home "$tn_dir/node2" --debug-tamper "cert-sig:${heights[1]}"
expect_failure "$tn_dir/node2" "${heights[1]}" "commit certificate: invalid signature"

step "the untouched replicas still audit OK and agree"
"$bin/pbft-verify" --home "$tn_dir/node0" --compare "$tn_dir/node1"

"$testnet" -d "$tn_dir" down
echo "tamper_store: OK"
