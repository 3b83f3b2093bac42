#!/usr/bin/env bash
# Cross-compiles the addon (addon.c + common.c + win.c) for Windows x64 with MinGW-w64, against the
# Node-API headers and import library that setup.sh fetched, into
#   packages/native/prebuilds/win32-x64/node.napi.node
# which node-gyp-build loads on win32-x64 for any Node-API runtime (note: it prefers
# build/Release/*.node when that exists, so run Windows node with PREBUILDS_ONLY=1 where a
# Linux build sits in build/; run.sh does). Warnings are errors (-Wall -Wextra).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ -s "$NODE_API_LIB" ] && [ -d "$NODE_API_DIR/include" ] || bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

src="$REPO_ROOT/packages/native/src/addon"
mkdir -p "$PREBUILD_DIR"
started=$EPOCHREALTIME
"$MINGW_CC" -shared -O2 -std=gnu11 -Wall -Wextra -Werror \
  -D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN -DNAPI_VERSION=8 \
  '-DNAPI_EXTERN=__declspec(dllimport)' -DNODE_GYP_MODULE_NAME=wsasendto_native \
  -I"$NODE_API_DIR/include" \
  "$src/addon.c" "$src/common.c" "$src/win.c" \
  -o "$PREBUILD.tmp" \
  -L"$(dirname "$NODE_API_LIB")" -lnode_api -lws2_32 -static-libgcc -s
mv "$PREBUILD.tmp" "$PREBUILD"
echo "build.sh: ${PREBUILD#"$REPO_ROOT"/} ($(stat -c %s "$PREBUILD") bytes, $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $started }") s)"
# The DLLs it imports: node.exe (Node-API), ws2_32, kernel32 and the C runtime, nothing else.
x86_64-w64-mingw32-objdump -p "$PREBUILD" | sed -n 's/^\s*DLL Name: /  imports /p'
