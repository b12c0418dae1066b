#!/usr/bin/env bash
# tests/e2e/node_basic.sh — four real pbftd replicas on loopback: signed
# transactions submitted over HTTP to different replicas are committed on
# all four with identical block hashes; the HTTP API answers its contract
# (status, receipts, accounts, blocks, metrics, errors); SIGTERM is a clean
# exit 0 and a restart resumes at the same height.
source "$(dirname "$0")/node_lib.bash"

make_testnet --batch-delay-ms 5
start_all
wait_all_healthy
log "4 replicas up"

# Account a signs nonces 0..4 and submits them, in order, to replica a.
ids=()
for a in 0 1 2 3; do
    sign_txs "$a" 5 "$TN/txs$a"
    for k in 0 1 2 3 4; do
        f="$TN/txs$a/$(account_name "$a")-$k.json"
        code=$(submit "$a" "$f")
        [ "$code" = 202 ] || [ "$code" = 200 ] || fail "POST /tx to replica $a gave $code"
        ids+=("$(jq -r .id "$f")")
    done
done
log "submitted ${#ids[@]} txs, each account through a different replica"

for i in 0 1 2 3; do
    wait_until 60 "all txs committed on replica $i" all_committed "$i" "${ids[@]}"
done
log "all committed on every replica"

# Same chain everywhere.
top=$(height 0)
wait_until 30 "every replica at height $top" all_at_least "$top" 0 1 2 3
same_chain "$top" 0 1 2 3
log "identical block hashes 1..$top on all replicas"

# Every tx executed ok (per-account nonces in order) and every replica
# reports the same balances and nonces.
for id in "${ids[@]}"; do
    r=$(get 0 "/tx/$id" | jq -r .result)
    [ "$r" = ok ] || fail "tx $id executed with result $r"
done
for a in 0 1 2 3; do
    addr=$(account_addr "$a")
    ref=$(get 0 "/account/$addr" | jq -c '{balance, nonce}')
    [ "$(echo "$ref" | jq -r .nonce)" = 5 ] || fail "account $a nonce is not 5: $ref"
    for i in 1 2 3; do
        [ "$(get "$i" "/account/$addr" | jq -c '{balance, nonce}')" = "$ref" ] ||
            fail "replica $i disagrees on account $a"
    done
done
log "all txs ok; balances and nonces agree on every replica"

# A receipt verifies against genesis alone (the wallet checks it).
wallet --node "http://$(http_addr 2)" confirm "${ids[0]}" >/dev/null ||
    fail "wallet could not verify the receipt of ${ids[0]}"

# Re-submitting a committed tx is idempotent.
code=$(submit 1 "$TN/txs0/$(account_name 0)-0.json")
[ "$code" = 200 ] || fail "resubmitting a committed tx gave $code"

# The binary batch form: the txs' bytes back to back. Account 1's nonces
# 5..7 go to replica 2 in one POST /txs?results=errors, whose answer lists
# only what was not accepted; a copy of nonce 8 with a flipped signature
# byte rides along and is the one entry, at its index.
sign_txs 1 4 "$TN/bin" 5
from1=$(account_name 1)
bin_ids=()
for k in 5 6 7; do
    jq -r .tx "$TN/bin/$from1-$k.json" | xxd -r -p >>"$TN/bin/batch"
    bin_ids+=("$(jq -r .id "$TN/bin/$from1-$k.json")")
done
jq -r .tx "$TN/bin/$from1-8.json" | xxd -r -p >"$TN/bin/one"
size=$(stat -c %s "$TN/bin/one")
# the last byte of the signature (the tx's last byte) flipped: still decodes
{ head -c $((size - 1)) "$TN/bin/one"
  printf "\\x$(printf '%02x' $((0x$(tail -c 1 "$TN/bin/one" | xxd -p) ^ 1)))"; } >>"$TN/bin/batch"
ans=$(curl -s --max-time 10 -XPOST -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TN/bin/batch" "http://$(http_addr 2)/txs?results=errors")
[ "$(echo "$ans" | jq -c '[.accepted, .rejected, (.results | length), .results[0].index,
    .results[0].error]')" = '[3,1,1,3,"bad_signature"]' ] ||
    fail "binary POST /txs?results=errors answered $ans"
for i in 0 1 2 3; do
    wait_until 60 "binary batch committed on replica $i" all_committed "$i" "${bin_ids[@]}"
done
[ "$(tx_status 0 "$(jq -r .id "$TN/bin/$from1-8.json")")" = unknown ] ||
    fail "the tx with a bad signature is known to replica 0"
# Without ?results=errors every tx has its entry, in order.
ans=$(curl -s --max-time 10 -XPOST -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TN/bin/one" "http://$(http_addr 0)/txs")
[ "$(echo "$ans" | jq -c '[.accepted, .results[0].id, .results[0].status]')" = \
    "[1,\"$(jq -r .id "$TN/bin/$from1-8.json")\",\"queued\"]" ] ||
    fail "binary POST /txs answered $ans"
for i in 0 1 2 3; do # the long-polls below need an idle testnet
    wait_until 60 "nonce 8 committed on replica $i" committed_on "$i" "$(jq -r .id "$TN/bin/$from1-8.json")"
done
log "binary POST /txs: 3 accepted and committed, the bad signature reported at its index"

# Contract checks.
st=$(get 0 /status)
for key in replica view primary height block_hash state_hash stable_checkpoint low_water_mark \
    high_water_mark peers_seen mempool_size catching_up chain_id view_changes; do
    echo "$st" | jq -e "has(\"$key\")" >/dev/null || fail "/status lacks $key"
done
m=$(get 3 /metrics)
for name in pbft_height pbft_view pbft_view_changes_total pbft_blocks_committed_total \
    pbft_txs_total pbft_invalid_messages_total pbft_mempool_size pbft_verify_queue_depth \
    pbft_commit_latency_seconds_bucket; do
    echo "$m" | grep -q "^$name" || fail "/metrics lacks $name"
done
for name in process_resident_memory_bytes pbft_heap_allocated_bytes; do
    v=$(echo "$m" | awk -v k="$name" '$1 == k {print $2}')
    [ "${v:-0}" -gt 1000000 ] || fail "/metrics $name is '$v', want a resident replica's size"
done
# The release build runs on jemalloc (node/heap.c), which the e2e tests
# use (the sanitizer build, on glibc's malloc, skips them).
echo "$m" | grep -q '^pbft_heap_info{allocator="jemalloc",version="[0-9]' ||
    fail "/metrics does not show jemalloc: $(echo "$m" | grep '^pbft_heap_info')"
grep allocator "$TN/node0/pbftd.log" | grep -q jemalloc || fail "replica 0's log does not name jemalloc"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(http_addr 0)/tx/xyz")
[ "$code" = 400 ] || fail "GET /tx/xyz gave $code, want 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -d '{"tx":"00"}' "http://$(http_addr 0)/tx")
[ "$code" = 400 ] || fail "malformed tx gave $code, want 400"
# The watcher's view of a block: the same ids, nothing else.
full=$(get 0 "/block/$top" | jq -c '[.txs[] | {id, result}]')
ids_view=$(get 0 "/block/$top?txs=ids")
[ "$(echo "$ids_view" | jq -c '.txs')" = "$full" ] || fail "?txs=ids lists other txs than the block"
[ "$(echo "$ids_view" | jq -r 'has("block_hex")')" = false ] || fail "?txs=ids carries block_hex"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(http_addr 0)/block/$top?txs=all")
[ "$code" = 400 ] || fail "GET /block?txs=all gave $code, want 400"
log "HTTP contract checks passed"

# Long-polls: GET /status?after=H&wait_ms=N and GET /tx/ID?wait_ms=N answer
# as soon as a block is stored, not at the end of the wait. The testnet is
# idle here (no txs, so no blocks), so nothing else moves the height.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
h=$(height 2)
t0=$(now_ms)
got=$(curl -s --max-time 10 "http://$(http_addr 2)/status?after=$h&wait_ms=400" | jq -r .height)
dt=$(($(now_ms) - t0))
[ "$got" = "$h" ] && [ "$dt" -ge 400 ] ||
    fail "idle /status?after=$h&wait_ms=400 gave height $got after $dt ms (want $h after >= 400)"
sign_txs 0 1 "$TN/poll" 5
f="$TN/poll/$(account_name 0)-5.json"
id=$(jq -r .id "$f")
curl -s --max-time 30 "http://$(http_addr 2)/status?after=$h&wait_ms=20000" >"$TN/poll/status" &
status_poll=$!
curl -s --max-time 30 "http://$(http_addr 3)/tx/$id?wait_ms=20000" >"$TN/poll/tx" &
tx_poll=$!
sleep 0.3 # both requests are waiting (if not, the checks below still pass: they would have seen nothing)
t0=$(now_ms)
code=$(submit 0 "$f")
[ "$code" = 202 ] || fail "POST /tx of nonce 5 gave $code"
wait "$status_poll" "$tx_poll"
dt=$(($(now_ms) - t0))
[ "$(jq -r .height "$TN/poll/status")" -gt "$h" ] || fail "long-polled /status: $(cat "$TN/poll/status")"
[ "$(jq -r .status "$TN/poll/tx")" = committed ] || fail "long-polled /tx: $(cat "$TN/poll/tx")"
[ "$dt" -lt 15000 ] || fail "long-polls answered $dt ms after the submit (wait was 20000 ms)"
for q in "/status?wait_ms=20001" "/status?wait_ms=x" "/status?after=-1&wait_ms=10" \
    "/tx/$id?wait_ms=99999999999999999999"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(http_addr 0)$q")
    [ "$code" = 400 ] || fail "GET $q gave $code, want 400"
done
log "long-polls answered $dt ms after the submit; bad wait parameters get 400"

# Clean shutdown and restart at the same height; a long-poll in progress
# does not hold the shutdown up (it is answered or dropped at once).
h1=$(height 1)
curl -s --max-time 30 "http://$(http_addr 1)/status?after=$((h1 + 1000))&wait_ms=20000" >/dev/null &
held_poll=$!
sleep 0.3
t0=$(now_ms)
kill_node 1 TERM
dt=$(($(now_ms) - t0))
wait "$held_poll" || true
[ "$dt" -lt 10000 ] || fail "replica 1 took $dt ms to exit with a long-poll open"
# Back with 4 HTTP connections: long-polls may hold at most 2 of them.
PBFT_HTTP_CONNECTIONS_MAX=4 start_node 1
wait_until 60 "replica 1 back" healthy 1
[ "$(height 1)" -ge "$h1" ] || fail "replica 1 restarted below its height"
grep -q 'msg="exit" code=0' "$TN/node1/pbftd.log" || fail "SIGTERM did not exit 0"
long_polls_are() { [ "$(get 1 /metrics | awk '/^pbft_http_long_polls / {print $2}')" = "$1" ]; }
held=()
for k in 1 2; do
    curl -s --max-time 30 "http://$(http_addr 1)/status?after=$((h1 + 1000))&wait_ms=20000" \
        >/dev/null &
    held+=($!)
done
wait_until 30 "2 long-polls waiting on replica 1" long_polls_are 2
t0=$(now_ms)
got=$(curl -s --max-time 30 "http://$(http_addr 1)/status?after=$((h1 + 1000))&wait_ms=20000" |
    jq -r .height)
dt=$(($(now_ms) - t0))
[ "$got" -ge "$h1" ] && [ "$dt" -lt 5000 ] ||
    fail "a third long-poll with 2 of 4 connections waiting gave height '$got' after $dt ms"
kill "${held[@]}" 2>/dev/null
wait "${held[@]}" 2>/dev/null
log "a third long-poll was answered after $dt ms while 2 of 4 connections waited"
log "PASS"
