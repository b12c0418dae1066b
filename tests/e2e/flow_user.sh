#!/usr/bin/env bash
# tests/e2e/flow_user.sh — the whole user flow on real processes:
# testnet up; a new wallet key; a verified payment moves balances; every
# replica's store audits OK and all hold the same chain; the primary is
# killed and a payment still commits after the view change; the old primary
# restarts, catches up, and everything audits again.
set -euo pipefail
source "$(dirname "$0")/flow_lib.bash"

step "testnet up (4 replicas, free ports)"
tn_up

step "new key zoe; payment alice -> zoe"
"${wallet[@]}" new zoe
zoe=$("${wallet[@]}" address zoe)
alice_before=$("${wallet[@]}" --json balance alice | json_get balance)
out=$("${wallet[@]}" --timeout 60 --json --from alice send --to zoe --amount 250 --memo "e2e")
echo "$out"
[ "$(echo "$out" | json_get result)" = ok ] || fail "send result not ok"
[ "$(echo "$out" | json_get verified)" = true ] || fail "receipt not verified"
id=$(echo "$out" | json_get id)
height=$(echo "$out" | json_get height)

step "balances moved (as seen by every replica once it reaches height $height)"
for i in 0 1 2 3; do
    wait_until 60 "replica $i at height $height" at_least_height "$i" "$height"
    b=$("$bin/pbft-wallet" --keystore "$tn_dir/accounts" --node "http://$(replica_http $i)" --json balance "$zoe" | json_get balance)
    [ "$b" = 250 ] || fail "replica $i: zoe has $b, expected 250"
done
alice_after=$("${wallet[@]}" --json balance alice | json_get balance)
[ "$alice_after" = $((alice_before - 250)) ] || fail "alice has $alice_after, expected $((alice_before - 250))"
"${wallet[@]}" confirm "$id"
"${wallet[@]}" history zoe | grep -q "$id" || fail "history of zoe lacks $id"

step "a failing tx (replayed nonce) is committed with bad_nonce and exits 1"
set +e
"${wallet[@]}" --timeout 60 --from alice send --to zoe --amount 1 --nonce 0
rc=$?
set -e
[ $rc = 1 ] || fail "replayed nonce: expected exit 1, got $rc"

step "pbft-verify on every home (running replicas, read-only) and --compare"
for i in 0 1 2 3; do
    "$bin/pbft-verify" --home "$tn_dir/node$i"
done
"$bin/pbft-verify" --home "$tn_dir/node0" --compare "$tn_dir/node1" --compare "$tn_dir/node2" \
    --compare "$tn_dir/node3"
"$bin/pbft-verify" --genesis "$tn_dir/accounts/genesis.json" --node "http://$(replica_http 1)"

step "kill the primary; a payment still commits after the view change"
primary=$(status_field 1 primary)
echo "primary is replica $primary"
"$testnet" -d "$tn_dir" kill "$primary"
out=$("${wallet[@]}" --timeout 120 --json --from alice send --to zoe --amount 5)
echo "$out"
[ "$(echo "$out" | json_get result)" = ok ] || fail "send after killing the primary failed"
height=$(echo "$out" | json_get height)
survivor=$(((primary + 1) % 4))
new_primary=$(status_field "$survivor" primary)
[ "$new_primary" != "$primary" ] || fail "primary did not change"
echo "new primary is replica $new_primary"

step "restart the old primary; it catches up to height $height"
"$testnet" -d "$tn_dir" restart "$primary"
wait_until 120 "replica $primary catching up to $height" at_least_height "$primary" "$height"
"$testnet" -d "$tn_dir" status

step "audit again, all four, and compare"
for i in 0 1 2 3; do
    "$bin/pbft-verify" --home "$tn_dir/node$i"
done
"$bin/pbft-verify" --home "$tn_dir/node$primary" --compare "$tn_dir/node$survivor"

step "down"
"$testnet" -d "$tn_dir" down
echo "flow_user: OK"
