#!/usr/bin/env bash
# tests/e2e/flow_init.sh — `pbftd testnet` and `pbftd init` make exactly the
# directory contract of the brief: private keys (0600 in 0700 directories),
# one genesis copied everywhere, the port scheme, testnet.json — and they
# refuse to overwrite anything; a dev home runs, and `pbftd compact` works
# on its stopped store.
set -euo pipefail
source "$(dirname "$0")/flow_lib.bash"

mode() { stat -c %a "$1"; }
field() { python3 -c "import json,sys; j=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }

step "pbftd testnet: 4 replicas, 6 accounts, base port 40000"
d="$work/tn6"
"$bin/pbftd" testnet --dir "$d" -n 4 --base-port 40000 --accounts 6 --balance 77 \
    --chain-name flow-init --checkpoint-interval 16
[ "$(mode "$d/accounts")" = 700 ] || fail "accounts dir mode $(mode "$d/accounts")"
for name in alice bob carol dave erin acct5; do
    [ "$(mode "$d/accounts/$name.pem")" = 600 ] || fail "$name.pem is not 0600"
done
for i in 0 1 2 3; do
    [ "$(mode "$d/node$i")" = 700 ] || fail "node$i dir mode"
    [ "$(mode "$d/node$i/node_key.pem")" = 600 ] || fail "node$i key not 0600"
    cmp -s "$d/node$i/genesis.json" "$d/accounts/genesis.json" || fail "node$i genesis differs"
    grep -qx "replica = $i" "$d/node$i/config.ini" || fail "node$i replica index"
    grep -qx "listen = tcp://127.0.0.1:$((40000 + 2 * i))" "$d/node$i/config.ini" || fail "node$i listen"
    grep -qx "http = 127.0.0.1:$((40000 + 2 * i + 1))" "$d/node$i/config.ini" || fail "node$i http"
    grep -qx "3 = tcp://127.0.0.1:40006" "$d/node$i/config.ini" || fail "node$i peers"
done
[ "$(field "$d/testnet.json" 'len(j["replicas"])')" = 4 ] || fail "testnet.json replicas"
[ "$(field "$d/testnet.json" 'j["replicas"][2]["http"]')" = 127.0.0.1:40005 ] || fail "replica 2 http"
[ "$(field "$d/testnet.json" 'j["replicas"][1]["pid_file"]')" = "$d/node1/pbftd.pid" ] || fail "pid_file"
[ "$(field "$d/testnet.json" '[a["name"] for a in j["accounts"]]')" = \
  "['alice', 'bob', 'carol', 'dave', 'erin', 'acct5']" ] || fail "account names"
[ "$(field "$d/testnet.json" 'j["accounts"][5]["balance"]')" = 77 ] || fail "balance"
[ "$(field "$d/accounts/genesis.json" 'j["params"]["checkpoint_interval"]')" = 16 ] || fail "params"
[ "$(field "$d/accounts/genesis.json" 'len(j["validators"])')" = 4 ] || fail "validators"
# the wallet sees the same addresses as testnet.json
addr=$("$bin/pbft-wallet" --keystore "$d/accounts" address erin)
[ "$addr" = "$(field "$d/testnet.json" 'j["accounts"][4]["address"]')" ] || fail "erin's address"

step "a second run refuses to overwrite and changes nothing"
before=$(cat "$d"/node*/node_key.pem "$d"/accounts/*.pem "$d/testnet.json" | sha256sum)
set +e
"$bin/pbftd" testnet --dir "$d" -n 4 --base-port 40000
rc=$?
set -e
[ $rc = 73 ] || fail "expected exit 73, got $rc"
after=$(cat "$d"/node*/node_key.pem "$d"/accounts/*.pem "$d/testnet.json" | sha256sum)
[ "$before" = "$after" ] || fail "a refused run changed files"

step "usage errors"
set +e
"$bin/pbftd" testnet --dir "$work/bad" -n 5 >/dev/null 2>&1
rc_n=$?
"$bin/pbftd" testnet -n 4 >/dev/null 2>&1
rc_dir=$?
set -e
[ $rc_n = 64 ] || fail "-n 5 accepted (exit $rc_n)"
[ $rc_dir = 64 ] || fail "missing --dir accepted (exit $rc_dir)"

step "pbftd init: a single-replica dev home"
h="$work/dev"
"$bin/pbftd" init --home "$h" --base-port 41000
[ "$(mode "$h/node_key.pem")" = 600 ] || fail "dev node key mode"
[ "$(mode "$h/accounts/alice.pem")" = 600 ] || fail "dev account key mode"
[ "$(field "$h/genesis.json" 'len(j["validators"])')" = 1 ] || fail "dev validators"
cmp -s "$h/genesis.json" "$h/accounts/genesis.json" || fail "dev genesis copy differs"
grep -qx "http = 127.0.0.1:41001" "$h/config.ini" || fail "dev http port"
set +e
"$bin/pbftd" init --home "$h" >/dev/null 2>&1
rc=$?
set -e
[ $rc = 73 ] || fail "init over an existing home: exit $rc"

step "the dev home runs: one replica commits a verified payment"
h2="$work/dev2"
port=$(pick_base_port 1)
"$bin/pbftd" init --home "$h2" --base-port "$port" >/dev/null
"$bin/pbftd" --home "$h2" >"$work/dev2.log" 2>&1 &
dev_pid=$!
extra_pids+=($dev_pid)
wait_until 60 "dev replica healthy" curl -sf -o /dev/null -m 2 "http://127.0.0.1:$((port + 1))/health"
devw=("$bin/pbft-wallet" --keystore "$h2/accounts" --node "127.0.0.1:$((port + 1))" --timeout 60)
"${devw[@]}" new bob >/dev/null
"${devw[@]}" --from alice send --to bob --amount 10 | tee "$work/dev-send.out"
grep -q "signed by 1 of 1 validators" "$work/dev-send.out" || fail "dev send not verified"
"$bin/pbft-verify" --home "$h2"

step "pbftd compact: refused while the replica runs, then flushes and compacts the stopped store"
files_before=$(ls "$h2/data")
set +e
"$bin/pbftd" compact --home "$h2" >"$work/compact-running.out" 2>&1
rc=$?
set -e
[ $rc = 74 ] || fail "compact of a running replica's store: exit $rc"
grep -q "is in use (a running replica holds its lock)" "$work/compact-running.out" ||
    fail "no clear error: $(cat "$work/compact-running.out")"
# not even RocksDB's info LOG moved aside
[ "$(ls "$h2/data")" = "$files_before" ] || fail "a refused compact changed the data dir"
# nor by a second replica started on the same home
set +e
"$bin/pbftd" --home "$h2" >"$work/dev2-second.log" 2>&1
rc=$?
set -e
[ $rc = 74 ] || fail "a second pbftd on a running home: exit $rc"
grep -q "another pbftd holds its lock" "$work/dev2-second.log" || fail "no clear error: $(cat "$work/dev2-second.log")"
[ "$(ls "$h2/data")" = "$files_before" ] || fail "a refused second pbftd changed the data dir"
kill -TERM "$dev_pid"
wait "$dev_pid" || fail "the dev replica did not shut down cleanly"
[ "$(cat "$h2"/data/*.log | wc -c)" -gt 0 ] || fail "expected a write-ahead log before compacting"
"$bin/pbftd" compact --home "$h2" | tee "$work/compact.out"
grep -q "height 1, 1 txs" "$work/compact.out" || fail "compact did not report the chain"
[ "$(cat "$h2"/data/*.log | wc -c)" = 0 ] || fail "write-ahead log left after compact"
"$bin/pbft-verify" --home "$h2"
# another chain's genesis: refused as bad data, the store untouched
cp "$h2/genesis.json" "$work/dev2-genesis.json"
cp "$h/genesis.json" "$h2/genesis.json"
before=$(cat "$h2"/data/*.sst | sha256sum)
set +e
"$bin/pbftd" compact --home "$h2" >"$work/compact-wrong.out" 2>&1
rc=$?
set -e
cp "$work/dev2-genesis.json" "$h2/genesis.json"
[ $rc = 65 ] || fail "compact against another chain's genesis: exit $rc"
grep -q "belongs to chain" "$work/compact-wrong.out" || fail "no clear error: $(cat "$work/compact-wrong.out")"
[ "$(cat "$h2"/data/*.sst | sha256sum)" = "$before" ] || fail "a refused compact changed the store"
"$bin/pbftd" --home "$h2" >>"$work/dev2.log" 2>&1 &
extra_pids+=($!)
wait_until 60 "dev replica healthy again" curl -sf -o /dev/null -m 2 "http://127.0.0.1:$((port + 1))/health"
"${devw[@]}" --from alice send --to bob --amount 5 | tee "$work/dev-send2.out"
grep -q "signed by 1 of 1 validators" "$work/dev-send2.out" || fail "send after compact not verified"
"${devw[@]}" balance bob | tee "$work/dev-balance.out"
grep -q "balance 15 " "$work/dev-balance.out" || fail "bob's balance after compact"
echo "flow_init: OK"
