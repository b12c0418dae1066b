#!/usr/bin/env bash
# tools/deps.sh [--fuzz] — make sure the build's Debian packages are present.
#
# Checks the pkg-config modules the build needs. When one is missing and
# apt-get is usable (root, or sudo without a password), installs the Debian
# packages; otherwise prints one line naming the exact command and exits 1.
# Prints nothing when everything is already there.
set -u

modules=(openssl rocksdb nanomsg cmocka jansson inih libmicrohttpd libcurl jemalloc)
packages=(pkg-config libssl-dev librocksdb-dev libnanomsg-dev libcmocka-dev libjansson-dev
          libinih-dev libmicrohttpd-dev libcurl4-openssl-dev libjemalloc-dev curl python3 jq)
need_fuzz=0
[ "${1:-}" = "--fuzz" ] && need_fuzz=1

missing=0
if ! command -v pkg-config >/dev/null 2>&1; then
    missing=1
else
    for m in "${modules[@]}"; do
        pkg-config --exists "$m" 2>/dev/null || { missing=1; break; }
    done
fi
command -v curl >/dev/null 2>&1 || missing=1
command -v python3 >/dev/null 2>&1 || missing=1
command -v jq >/dev/null 2>&1 || missing=1
if [ $need_fuzz = 1 ]; then
    packages+=(clang libclang-rt-dev)
    command -v clang >/dev/null 2>&1 || missing=1
fi
[ $missing = 0 ] && exit 0

cmd="apt-get install -y ${packages[*]}"
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "deps: missing build packages; run: sudo $cmd" >&2
    exit 1
fi

echo "deps: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${packages[@]}"; } >/tmp/pbft-deps.log 2>&1; then
    tail -20 /tmp/pbft-deps.log >&2
    echo "deps: apt-get failed (log: /tmp/pbft-deps.log); run: sudo $cmd" >&2
    exit 1
fi
echo "deps: installed" >&2
exit 0
