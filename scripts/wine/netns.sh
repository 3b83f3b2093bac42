#!/usr/bin/env bash
# Runs run.sh (same arguments) inside a private network namespace whose loopback is
# rate-limited with a tc token bucket, so that UDP sends really wait in the kernel: Wine
# then answers WSASendTo with WSA_IO_PENDING, which plain loopback never does. Traffic
# stays on that namespace's own loopback. Needs root (unshare -n, tc).
#   scripts/wine/netns.sh [node options] script.mjs [args]
# WSASENDTO_WINE_TBF sets the whole tbf (default: "rate 1mbit burst 80kb latency 10s",
# or "rate $WSASENDTO_WINE_RATE ..."); test.sh gives the suite test/netns/throttled.test.ts'
# own. Uses its own Wine prefix
# (prefix-netns in the cache): a wineserver already running for the main prefix lives in
# the main namespace and would create the sockets there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [ "${WSASENDTO_WINE_IN_NETNS:-}" != 1 ]; then
  command -v unshare >/dev/null && command -v tc >/dev/null || { echo "netns.sh: needs unshare and tc (iproute2)" >&2; exit 3; }
  exec env WSASENDTO_WINE_IN_NETNS=1 unshare -n bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up
# shellcheck disable=SC2086 # the tbf parameters, word by word
tc qdisc add dev lo root tbf ${WSASENDTO_WINE_TBF:-rate ${WSASENDTO_WINE_RATE:-1mbit} burst 80kb latency 10s}
export WINEPREFIX="$WINE_CACHE/prefix-netns"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  "$WINE" wineboot -i >"$WINE_CACHE/wineboot-netns.log" 2>&1
  "$WINE" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
  "$WINESERVER" -w
fi
export WSASENDTO_WINE_NETNS=1
rc=0
bash "$REPO_ROOT/scripts/wine/run.sh" "$@" || rc=$?
"$WINESERVER" -k 2>/dev/null || true # it lives in this namespace: end it with it
exit $rc
