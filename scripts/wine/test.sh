#!/usr/bin/env bash
# The Wine lane, end to end: setup (idempotent), cross-build, the send and receive smoke
# tests in both completion modes, the send smoke again on a throttled loopback (real
# WSA_IO_PENDING; root only), and the public conformance suites (sending, and receiving
# from ../shared/conformance/recv) with Windows node.exe on both backends.
#   scripts/wine/test.sh [--quick]     --quick: no throttled-loopback runs
# Prints one "N passed, N failed" line per step and a total; exits 1 if anything failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
quick=0
[ "${1:-}" = --quick ] && quick=1
cd "$REPO_ROOT"

total_pass=0
total_fail=0
summary=()
step() { # step NAME COMMAND...: runs it, takes its "N passed, N failed" lines
  local name=$1 start=$SECONDS log
  shift
  log="$(mktemp)"
  "$@" >"$log" 2>&1
  local rc=$? p=0 f=0
  while read -r a b; do p=$((p + a)); f=$((f + b)); done < <(sed -nE 's/.*\b([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$log")
  [ $rc -ne 0 ] && [ $f -eq 0 ] && f=1
  cat "$log"
  rm -f "$log"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  summary+=("$(printf '%-44s %4d passed, %d failed, exit %d, %3d s' "$name" "$p" "$f" "$rc" $((SECONDS - start)))")
}

bash scripts/wine/setup.sh || exit 1
if [ ! -f packages/native/dist/index.js ] || [ ! -f packages/wsasendto/dist/index.js ]; then
  npx --no-install tsc -b || exit 1
fi
bash scripts/wine/build.sh || exit 1

step "smoke, skip-on-success" scripts/wine/run.sh --expose-gc scripts/wine/smoke.mjs
step "smoke, every send through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh --expose-gc scripts/wine/smoke.mjs
if [ $quick = 0 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v tc >/dev/null; then
  step "smoke, throttled loopback, skip-on-success" scripts/wine/netns.sh --expose-gc scripts/wine/smoke.mjs
  step "smoke, throttled loopback, through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/netns.sh --expose-gc scripts/wine/smoke.mjs
fi
step "smoke-recv, skip-on-success" scripts/wine/run.sh --expose-gc scripts/wine/smoke-recv.mjs
step "smoke-recv, every receive through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh --expose-gc scripts/wine/smoke-recv.mjs
conformance="$REPO_ROOT/../shared/conformance/run.mjs"
[ -f "$conformance" ] || conformance=/work/shared/conformance/run.mjs
if [ -f "$conformance" ]; then
  step "conformance (node.exe), dgram + native" scripts/wine/run.sh "$conformance" --backend dgram,native
  step "conformance, native, through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh "$conformance" --backend native
  recv_suite="$(dirname "$conformance")/recv"
  if [ -d "$recv_suite" ]; then
    step "conformance recv (node.exe), dgram + native" scripts/wine/run.sh "$conformance" --suite "$recv_suite" --backend dgram,native
    step "conformance recv, native, through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh "$conformance" --suite "$recv_suite" --backend native
  else
    echo "test.sh: no $recv_suite: receive conformance not run" >&2
  fi
  if [ $quick = 0 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v tc >/dev/null; then
    step "conformance, throttled loopback" scripts/wine/netns.sh "$conformance" --backend dgram,native
  fi
else
  echo "test.sh: no shared/conformance beside the repository: conformance not run" >&2
fi

echo
echo "Wine lane ($("$WINE" --version 2>/dev/null), node.exe v$WINE_NODE_VERSION):"
printf '  %s\n' "${summary[@]}"
echo "wine: $total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
