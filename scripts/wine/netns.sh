#!/usr/bin/env bash
# Runs run.sh (same arguments) inside a private network namespace whose loopback is
# rate-limited with a tc token bucket, so that UDP sends really wait in the kernel: Wine
# then answers WSASendTo with WSA_IO_PENDING, which plain loopback never does. Traffic
# stays on that namespace's own loopback. Needs root (unshare -n, tc).
#   scripts/wine/netns.sh [node options] script.mjs [args]
# WSASENDTO_WINE_RATE (default 1mbit) sets the rate of that tbf. WSASENDTO_WINE_HTB=RATE
# throttles with an HTB class of that rate and a 4 KiB bucket instead: a tbf drops any
# packet larger than its bucket, HTB lets it through late, so the whole suite (65507-byte
# datagrams among others) runs on it while small buffers still fill (test.sh uses it). Uses its own Wine prefix
# (prefix-netns in the cache): a wineserver already running for the main prefix lives in
# the main namespace and would create the sockets there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [ "${WSASENDTO_WINE_IN_NETNS:-}" != 1 ]; then
  command -v unshare >/dev/null && command -v tc >/dev/null || { echo "netns.sh: needs unshare and tc (iproute2)" >&2; exit 3; }
  exec env WSASENDTO_WINE_IN_NETNS=1 unshare -n bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up
if [ -n "${WSASENDTO_WINE_HTB:-}" ]; then
  tc qdisc add dev lo root handle 1: htb default 10
  tc class add dev lo parent 1: classid 1:10 htb rate "$WSASENDTO_WINE_HTB" burst 4k
else
  tc qdisc add dev lo root tbf rate "${WSASENDTO_WINE_RATE:-1mbit}" burst 80kb latency 10s
fi
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
