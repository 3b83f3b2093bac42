#!/usr/bin/env bash
# Runs a script with the Windows node.exe under Wine, from the repository root:
#   scripts/wine/run.sh [node options] script.mjs [args]
# Paths may be relative to the caller's directory or absolute (/work/... is Z:\work\...).
# node.exe's stdout and stderr go to files (it fails with EBADF on a pipe under Wine),
# which are printed afterwards; the exit code is node's. The environment passes through
# (WSASENDTO_BACKEND among it), plus:
#   PREBUILDS_ONLY=1   node-gyp-build skips build/Release (a Linux build may sit there)
#                      and loads prebuilds/win32-x64/node.napi.node (scripts/wine/build.sh);
#   NODE_OPTIONS       --import realpath-hook.mjs: pnpm's symlinks resolved as on Linux;
#   NODE_PATH          the cached node-gyp-build, only while packages/native has none
#                      installed (before `pnpm install` links it).
# WSASENDTO_WINE_TIMEOUT (seconds, default 600) bounds the run.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ -f "$WINE_NODE_EXE" ] && [ -f "$WINEPREFIX/system.reg" ] || bash "$REPO_ROOT/scripts/wine/setup.sh" >&2 || exit 1
[ $# -gt 0 ] || { echo "usage: scripts/wine/run.sh [node options] script.mjs [args]" >&2; exit 2; }

# Arguments that name files here become absolute, since node.exe runs from the root.
args=()
for a in "$@"; do
  if [[ "$a" != -* && "$a" != /* && -e "$a" ]]; then a="$(cd "$(dirname "$a")" && pwd)/$(basename "$a")"; fi
  args+=("$a")
done

winpath() { printf 'Z:%s' "${1//\//\\}"; }
export PREBUILDS_ONLY=1
export WSASENDTO_WINE=1 # the suite's lane (test/backends.ts: LANE)
hook="file:///Z:$REPO_ROOT/scripts/wine/realpath-hook.mjs"
export NODE_OPTIONS="--import=$hook${NODE_OPTIONS:+ $NODE_OPTIONS}"
if [ ! -e "$REPO_ROOT/packages/native/node_modules/node-gyp-build/package.json" ]; then
  export NODE_PATH="$(winpath "$FALLBACK_MODULES")${NODE_PATH:+;$NODE_PATH}"
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/wsasendto-wine.XXXXXX")"
trap 'rm -rf "$out"' EXIT
cd "$REPO_ROOT"
timeout -k 15 "${WSASENDTO_WINE_TIMEOUT:-600}" "$WINE" "$WINE_NODE_EXE" "${args[@]}" \
  </dev/null >"$out/stdout" 2>"$out/stderr"
rc=$?
tr -d '\r' <"$out/stdout"
tr -d '\r' <"$out/stderr" >&2
[ $rc -eq 124 ] && echo "run.sh: timed out after ${WSASENDTO_WINE_TIMEOUT:-600} s" >&2
exit $rc
