#!/usr/bin/env bash
# tests/e2e/node_viewchange.sh — the primary fails under load:
#  1. SIGKILL the primary: the others install a new view with a new primary
#     and commits resume; the old primary restarts, adopts the new view and
#     catches up;
#  2. SIGSTOP the (new) primary for longer than the view-change timeout, then
#     SIGCONT: the others moved on; it adopts their view and catches up.
# Background load comes from pbft-load (accounts 0-3); "commits resume" is
# checked with probe txs from account 4 sent to every live replica (a tx
# that only one backup holds cannot by itself trigger a view change).
source "$(dirname "$0")/node_lib.bash"
LOAD=$PBFT_BIN/pbft-load

make_testnet --accounts 5 --view-change-timeout-ms 1500 --request-timeout-ms 2000
start_all
wait_all_healthy
nodes() { local i out=""; for i in "$@"; do out="$out${out:+,}http://$(http_addr "$i")"; done; echo "$out"; }
run_load() { # seconds rate replicas...
    local secs=$1 rate=$2; shift 2
    ("$LOAD" --dir "$TN" --nodes "$(nodes "$@")" --open "$rate" --seconds "$secs" --drain 5 \
        --accounts 4 >>"$TN/load.log" 2>&1 &
        echo $! >"$TN/load.pid")
    EXTRA_PIDS+=("$(cat "$TN/load.pid")")
}
others() { local i; for i in $(seq 0 $((N - 1))); do [ "$i" = "$1" ] || echo "$i"; done; }
views_agree_above() { # v replicas...: all report the same view > v, not in a view change
    local v=$1 i ref; shift
    ref=$(view "$1")
    [ -n "$ref" ] && [ "$ref" -gt "$v" ] || return 1
    for i in "$@"; do
        [ "$(view "$i")" = "$ref" ] || return 1
        [ "$(status_field "$i" in_view_change)" = false ] || return 1
    done
}
PROBE=0
# probe replicas...: a fresh tx from account 4, sent to every listed replica,
# must commit on all of them.
probe() {
    local f=$TN/probe$PROBE.json nonce
    PROBE=$((PROBE + 1))
    nonce=$(get "$1" "/account/$(account_addr 4)" | jq -r .nonce)
    wallet --from "$(account_name 4)" sign --to "$(account_addr 0)" --amount 1 --nonce "$nonce" \
        -o "$f" >/dev/null || fail "wallet sign failed"
    local i
    for i in "$@"; do submit "$i" "$f" >/dev/null; done
    for i in "$@"; do
        wait_until 60 "probe tx committed on replica $i" committed_on "$i" "$(jq -r .id "$f")"
    done
}
same_view_as() { [ "$(view "$1")" = "$(view "$2")" ] && [ "$(status_field "$1" in_view_change)" = false ]; }

p=$(primary 0)
v0=$(view 0)
log "phase 1: SIGKILL primary $p (view $v0) under load"
mapfile -t rest < <(others "$p")
run_load 30 40 "${rest[@]}"
wait_until 30 "load is committing" at_least "${rest[0]}" 20
kill_node "$p" KILL
h=$(height "${rest[0]}")
probe "${rest[@]}"
wait_until 60 "a new view without replica $p" views_agree_above "$v0" "${rest[@]}"
v1=$(view "${rest[0]}")
p1=$(primary "${rest[0]}")
[ "$p1" != "$p" ] || fail "the dead replica is still primary"
probe "${rest[@]}"
log "view $v1, primary $p1; commits resumed at $(height "${rest[0]}")"
start_node "$p"
wait_until 60 "old primary healthy" healthy "$p"
wait_until 120 "old primary adopts view $v1" same_view_as "$p" "${rest[0]}"
target=$(height "${rest[0]}")
wait_until 120 "old primary catches up to $target" at_least "$p" "$target"
log "old primary $p in view $(view "$p") at $(height "$p")"

log "phase 2: SIGSTOP primary $p1 beyond the view-change timeout"
mapfile -t rest < <(others "$p1")
run_load 30 40 "${rest[@]}"
wait_until 30 "load is committing" at_least "${rest[0]}" $((target + 10))
kill_node "$p1" STOP
v1=$(view "${rest[0]}")
probe "${rest[@]}"
wait_until 60 "a new view while $p1 is stopped" views_agree_above "$v1" "${rest[@]}"
probe "${rest[@]}"
v2=$(view "${rest[0]}")
log "view $v2 installed; SIGCONT $p1"
kill_node "$p1" CONT
wait_until 120 "stopped primary adopts view $v2 or later" same_view_as "$p1" "${rest[0]}"
target=$(height "${rest[0]}")
wait_until 120 "stopped primary catches up to $target" at_least "$p1" "$target"
[ "$(block_hash "$p1" "$target")" = "$(block_hash "${rest[0]}" "$target")" ] ||
    fail "replica $p1 differs at $target"
log "PASS"
