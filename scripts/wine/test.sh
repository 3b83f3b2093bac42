#!/usr/bin/env bash
# The Wine lane, end to end: setup (idempotent), the cross-build (MinGW) and the MSVC-mode
# build (clang-cl, build-msvc.sh), then the whole test suite (the Vitest files of test/,
# under node:test: scripts/wine/suite/) in Windows node.exe, on both backends:
#   - in both completion modes: skip-on-success, and every completion through the port
#     (WSASENDTO_WIN_SKIP_ON_SUCCESS=0);
#   - on plain loopback, and on a throttled loopback in a network namespace of its own
#     (netns.sh; root only), where sends really wait and WSASendTo answers WSA_IO_PENDING;
#   - once more with the MSVC-mode build of the addon loaded instead of the MinGW one;
# and the public conformance suites (sending, and receiving from ../shared/conformance/recv).
#   scripts/wine/test.sh [--quick]     --quick: plain loopback, skip-on-success, MinGW only
# Prints one "N passed, N failed" line per step, then "wine: N passed, N failed" for all;
# exits 1 if anything failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
quick=0
[ "${1:-}" = --quick ] && quick=1
cd "$REPO_ROOT"
lane_started=$SECONDS

total_pass=0
total_fail=0
summary=()
step() { # step NAME COMMAND...: runs it, takes its "N passed, N failed" lines
  local name=$1 start=$SECONDS log
  shift
  log="$(mktemp)"
  "$@" >"$log" 2>&1
  local rc=$? p=0 f=0
  while read -r a b; do p=$((p + a)); f=$((f + b)); done < <(sed -nE 's/^([a-z0-9 ]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/p' "$log")
  [ $rc -ne 0 ] && [ $f -eq 0 ] && f=1
  cat "$log"
  rm -f "$log"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  summary+=("$(printf '%-52s %5d passed, %d failed, exit %d, %4d s' "$name" "$p" "$f" "$rc" $((SECONDS - start)))")
}

bash scripts/wine/setup.sh || exit 1
if [ ! -f packages/native/dist/index.js ] || [ ! -f packages/wsasendto/dist/index.js ]; then
  npx --no-install tsc -b || exit 1
fi
bash scripts/wine/build.sh || exit 1
msvc=0
if [ $quick = 0 ]; then
  if bash scripts/wine/build-msvc.sh; then msvc=1; else step "MSVC-mode build (build-msvc.sh)" false; fi
fi

# The suite's TypeScript, transpiled once here (Linux node) for every run below.
suite_js="$WINE_CACHE/suite-js"
rm -rf "$suite_js"
node scripts/wine/suite/transpile.mjs "$suite_js" || exit 1
export WSASENDTO_SUITE_JS="Z:${suite_js//\//\\}"
# Wine runs slower than Linux: each test's own timeout, times 3.
export WSASENDTO_TEST_TIMEOUT_SCALE="${WSASENDTO_TEST_TIMEOUT_SCALE:-3}"
export WSASENDTO_WINE_TIMEOUT="${WSASENDTO_WINE_TIMEOUT:-1800}"
suite=(scripts/wine/suite/run.mjs)
throttled=0
if [ $quick = 0 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v tc >/dev/null; then throttled=1; fi

step "suite, skip-on-success" scripts/wine/run.sh "${suite[@]}"
if [ $quick = 0 ]; then
  step "suite, every completion through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh "${suite[@]}"
fi
if [ $throttled = 1 ]; then
  # test/netns/throttled.test.ts' rate (its cases run here, in node.exe, on this loopback),
  # through HTB: a tbf small enough to fill a socket's buffer would drop the suite's
  # 65507-byte datagrams (a tbf drops any packet larger than its bucket).
  step "suite, throttled loopback, skip-on-success" env WSASENDTO_WINE_HTB=4mbit scripts/wine/netns.sh "${suite[@]}"
  step "suite, throttled loopback, through the port" env WSASENDTO_WINE_HTB=4mbit WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/netns.sh "${suite[@]}"
fi
if [ $msvc = 1 ]; then
  # node-gyp-build's <PACKAGE NAME>_PREBUILD override: the MSVC-mode DLL, the tree untouched.
  step "suite, MSVC-mode build of the addon" env "@WSASENDTO/NATIVE_PREBUILD=$WINE_CACHE/msvc" scripts/wine/run.sh "${suite[@]}"
fi

conformance="$REPO_ROOT/../shared/conformance/run.mjs"
[ -f "$conformance" ] || conformance=/work/shared/conformance/run.mjs
if [ -f "$conformance" ]; then
  recv_suite="$(dirname "$conformance")/recv"
  step "conformance (node.exe), dgram + native" scripts/wine/run.sh "$conformance" --backend dgram,native
  step "conformance recv (node.exe), dgram + native" scripts/wine/run.sh "$conformance" --suite "$recv_suite" --backend dgram,native
  if [ $quick = 0 ]; then
    step "conformance, native, through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh "$conformance" --backend native
    step "conformance recv, native, through the port" env WSASENDTO_WIN_SKIP_ON_SUCCESS=0 scripts/wine/run.sh "$conformance" --suite "$recv_suite" --backend native
  fi
  if [ $throttled = 1 ]; then
    step "conformance, throttled loopback" scripts/wine/netns.sh "$conformance" --backend dgram,native
  fi
else
  echo "test.sh: no shared/conformance beside the repository: conformance not run" >&2
fi

echo
echo "Wine lane ($("$WINE" --version 2>/dev/null), node.exe v$WINE_NODE_VERSION, $((SECONDS - lane_started)) s):"
printf '  %s\n' "${summary[@]}"
echo "wine: $total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
