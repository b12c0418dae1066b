#!/usr/bin/env bash
# tests/bench/run.sh --build DIR [--quick] — runs every benchmark binary and
# the cluster benchmark; benchmarks print figures, they do not pass or fail
# on speed.
set -u
build=build/release; quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        *) echo "bench: unknown argument $1" >&2; exit 64 ;;
    esac
done
cd "$(dirname "$0")/../.." || exit 1
rc=0
for b in "$build"/bin/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    if [ $quick = 1 ]; then "$b" --quick || rc=1; else "$b" || rc=1; fi
done
if [ -f tests/bench/cluster.sh ]; then
    echo "== cluster"
    bash tests/bench/cluster.sh --build "$build" $([ $quick = 1 ] && echo --quick) || rc=1
fi
exit $rc
