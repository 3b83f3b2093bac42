#!/usr/bin/env bash
# Runs the native addon's hostile calls (test/native/hostile-run.mjs) under valgrind's
# memcheck and fails when valgrind reports an error:
#
#   valgrind --error-exitcode=99 --errors-for-leak-kinds=none --track-origins=no \
#     node --jitless test/native/hostile-run.mjs --valgrind
#
# (--valgrind: getters that detach a view mid-call also run a GC, so that bytes the
# addon still points at are really freed, and the process ends by itself, so that the
# watchers' finalizers run at exit: valgrind sees both; see hostile-run.mjs.)
#
# --jitless: no JIT code for valgrind to trip over (V8 generates code at run time and
# patches it); slower, but the script's calls are few (about 1500). Leaks do not count
# (Node keeps much of its heap until exit); invalid reads and writes, uses of freed
# memory and bad syscall arguments do. No suppressions are needed: on this Node (20.x,
# valgrind 3.19) a run of node alone reports 0 errors.
#
# Usage: scripts/valgrind-addon.sh [--skip-known-bugs]   (arguments go to hostile-run.mjs)
# Exit status: valgrind's 99 when it reported errors; otherwise hostile-run's (0: every
# call as expected, 1: unexpected results, 2: no addon); 3: valgrind not installed.
# VALGRIND_LOG=path keeps valgrind's full log there.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind-addon: valgrind is not installed" >&2
  exit 3
fi

log="${VALGRIND_LOG:-$(mktemp -t valgrind-addon.XXXXXX)}"
[ -n "${VALGRIND_LOG:-}" ] || trap 'rm -f "$log"' EXIT

start=$(date +%s)
# valgrind's own messages go to the log; the script's output stays on stdout.
timeout 300 valgrind --error-exitcode=99 --errors-for-leak-kinds=none --track-origins=no --log-file="$log" \
  node --jitless test/native/hostile-run.mjs --valgrind "$@"
rc=$?
elapsed=$(($(date +%s) - start))

# Each error is a block of the log between blank "==pid== " lines: count (and show the
# first lines of) the ones whose stack passes through the addon.
report=$(awk '
  function flush() {
    if (full ~ /wsasendto_native/) { n++; if (n <= 12) printf "%s\n", block }
    block = ""; full = ""; kept = 0
  }
  /^==[0-9]+== $/ { flush(); next }
  # Not errors: valgrind notes close() on a bad descriptor, which the hostile calls make on purpose.
  /^==[0-9]+== Warning: invalid file descriptor/ { next }
  { line = $0; sub(/^==[0-9]+== /, "", line); full = full line "\n"; if (kept++ < 6) block = block "  " line "\n" }
  END { flush(); printf "@@ %d\n", n }
' "$log")
addon_count=$(printf "%s\n" "$report" | sed -n "s/^@@ //p")
addon_errors=$(printf "%s\n" "$report" | grep -v "^@@ ")

echo "----- valgrind (${elapsed} s) -----"
if [ -n "$addon_errors" ]; then
  echo "errors whose stack passes through wsasendto_native.node (${addon_count}; up to 12 shown, first 6 lines each):"
  echo "$addon_errors"
fi
grep -E "ERROR SUMMARY" "$log" | sed -E 's/^==[0-9]+== //'
echo "error contexts through the addon: ${addon_count}"
[ -n "${VALGRIND_LOG:-}" ] && echo "full log: $log"

if [ "$rc" -eq 124 ]; then
  echo "valgrind-addon: timed out" >&2
elif [ "$rc" -eq 99 ]; then
  echo "valgrind-addon: FAILED: valgrind reported errors" >&2
elif [ "$rc" -ne 0 ]; then
  echo "valgrind-addon: FAILED: hostile-run.mjs exited with $rc" >&2
else
  echo "valgrind-addon: OK"
fi
exit "$rc"
