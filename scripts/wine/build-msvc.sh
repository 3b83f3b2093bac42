#!/usr/bin/env bash
# Builds the addon (addon.c + common.c + win.c) the way Visual Studio would, as far as this
# machine allows: clang-cl (clang in MSVC mode: _MSC_VER defined, no __GNUC__, C as MSVC
# takes it) and lld-link, with mingw-w64's Windows headers and import libraries, into
#   $WINE_CACHE/msvc/prebuilds/win32-x64/node.napi.node
# never over the MinGW prebuild. node-gyp-build loads it in place of that one when
#   @WSASENDTO/NATIVE_PREBUILD=$WINE_CACHE/msvc   (its <PACKAGE NAME>_PREBUILD override)
# is in the environment. The flags are node-gyp's for binding.gyp (Node 20's common.gypi,
# Release x64: /O2 /Gy /GF /GS /MT, its defines, no /std: C as MSVC's default mode takes
# it), made stricter: /W4 /WX and clang checks for what MSVC's C rejects or warns about
# (VLAs, GNU extensions, C11 features without /std:c11, 64-to-32-bit conversions).
# Linked as node-gyp links it: node.exe delay-loaded through node-gyp's own
# win_delay_load_hook.cc (from npm's node-gyp). MSVC's runtime is not here: the CRT is the
# Universal CRT (mingw's libucrt.a, the api-ms-win-crt-* DLLs: MSVC's /MD, not node-gyp's
# static /MT), __delayLoadHelper2 is mingw's, and a few lines below stand in for the rest
# of vcruntime (the /GS cookie, _fltused, the DLL entry point).
#   MSVC_ONLY_COMPILE=1   compiles the three files and stops (no link)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ -s "$NODE_API_LIB" ] && [ -d "$NODE_API_DIR/include" ] || bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

LLVM=14  # Debian 12's clang-14, lld-14, llvm-14
MSVC_DIR="$WINE_CACHE/msvc"
MSVC_DLL="$MSVC_DIR/prebuilds/win32-x64/node.napi.node"
MINGW_INC=/usr/share/mingw-w64/include
MINGW_LIB=/usr/x86_64-w64-mingw32/lib

need_apt=()
command -v clang-$LLVM >/dev/null || need_apt+=(clang-$LLVM)
command -v lld-link-$LLVM >/dev/null || need_apt+=(lld-$LLVM)
command -v llvm-dlltool-$LLVM >/dev/null || need_apt+=(llvm-$LLVM)
[ -f "$MINGW_INC/winsock2.h" ] && [ -f "$MINGW_LIB/libucrt.a" ] || need_apt+=(mingw-w64-x86-64-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "build-msvc.sh: missing ${need_apt[*]}; run as root (apt-get install)" >&2; exit 1; }
  echo "build-msvc.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

mkdir -p "$MSVC_DIR/obj" "$(dirname "$MSVC_DLL")"
# mingw's headers outside GCC take the compiler for MSVC itself: they blank __attribute__
# (which clang's own intrinsics headers need) and put __declspec where MSVC's syntax does
# not allow it. This undoes that before any source line; the sources are untouched.
cat >"$MSVC_DIR/mingw-clang-cl.h" <<'EOF'
#include <_mingw.h>
#undef __attribute__
#undef __MINGW_ATTRIB_NORETURN
#define __MINGW_ATTRIB_NORETURN __attribute__((__noreturn__))
#undef __MINGW_ATTRIB_DEPRECATED
#define __MINGW_ATTRIB_DEPRECATED __attribute__((__deprecated__))
EOF
# What vcruntime gives a DLL: the /GS cookie (seeded at load) and its check, _fltused
# (which any object using floating point references), and the entry point; and what
# delayimp.lib has beside __delayLoadHelper2 (taken from mingw's libmingwex.a below).
cat >"$MSVC_DIR/vcruntime-stub.c" <<'EOF'
#include <windows.h>
#include <delayimp.h>
PfnDliHook __pfnDliFailureHook2 = NULL;
UINT_PTR __security_cookie = 0x00002B992DDFA232ull;
int _fltused = 0x9875;
__declspec(noreturn) void __cdecl __report_gsfailure(UINT_PTR cookie) {
  (void)cookie;
  TerminateProcess(GetCurrentProcess(), 0xC0000409u); /* STATUS_STACK_BUFFER_OVERRUN */
  for (;;) {}
}
void __cdecl __security_check_cookie(UINT_PTR cookie) { if (cookie != __security_cookie) __report_gsfailure(cookie); }
BOOL WINAPI _DllMainCRTStartup(HINSTANCE dll, DWORD reason, LPVOID reserved) {
  (void)dll, (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) {
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    UINT_PTR c = ((UINT_PTR)t.QuadPart ^ GetCurrentProcessId() ^ ((UINT_PTR)GetCurrentThreadId() << 32) ^ (UINT_PTR)&t) & 0x0000FFFFFFFFFFFFull;
    if (c) __security_cookie = c;
  }
  return TRUE;
}
EOF

CL=(clang-$LLVM --driver-mode=cl --target=x86_64-pc-windows-msvc -fms-compatibility-version=19.40 /nologo /c
  -imsvc "$MINGW_INC" /FI"$MSVC_DIR/mingw-clang-cl.h" /D_UCRT)
# node-gyp's: Release (/Ox /Oi /Ot /Oy /Ob2 /Gy /MT), always (/GS /GF /Z7, and defines).
GYP=(/TC /O2 /Oi /Ot /Oy /Ob2 /Gy /GF /GS /MT /Z7 /DWIN32 /D_CRT_SECURE_NO_DEPRECATE /D_CRT_NONSTDC_NO_DEPRECATE
  /D_HAS_EXCEPTIONS=0 /DNODE_GYP_MODULE_NAME=wsasendto_native /DUSING_UV_SHARED=1 /DUSING_V8_SHARED=1
  /DV8_DEPRECATION_WARNINGS=1 /DBUILDING_NODE_EXTENSION /D_GLIBCXX_USE_CXX11_ABI=1 /D_FILE_OFFSET_BITS=64 /D_WINDLL)
# Stricter than node-gyp's /W3: MSVC's default C mode is C99 less VLAs, plus extensions.
STRICT=(/W4 /WX /clang:-std=c99 -Wc11-extensions -Wvla -Wgnu -Wshadow -Wshorten-64-to-32 -Wconversion -Wno-sign-conversion)

src="$REPO_ROOT/packages/native/src/addon"
# What clang-cl takes and MSVC's C does not, in the preprocessed lines of the addon's own
# files (macros expanded, #ifdef _WIN32 applied): GNU keywords and builtins, and C11's
# <stdatomic.h> / <threads.h> (MSVC: /std:c11 /experimental:c11atomics, VS 2022 17.5+).
gnu_only() {
  "${CL[@]}" "${GYP[@]}" /I"$NODE_API_DIR/include" /E -- "$1" |
    awk -v src="$src/" '/^# [0-9]+ "/ { line = $2; file = $3; gsub(/"/, "", file)
                          if (file ~ /\/(stdatomic|threads)\.h$/) print "C11 header " file; next }
                        index(file, src) == 1 { print file ":" line ": " $0 } { line++ }' |
    grep -E '^C11 header|__attribute__|__typeof|\btypeof\b|__auto_type|__extension__|\basm\b|__asm__|__int128|\b__thread\b|__label__|__builtin_' |
    grep -vE '__builtin_(offsetof|va_)' || true
}
started=$EPOCHREALTIME
# `--` before the sources: clang-cl would read /work/... as the option /w.
for f in addon common win; do
  "${CL[@]}" "${GYP[@]}" "${STRICT[@]}" /I"$NODE_API_DIR/include" /Fo"$MSVC_DIR/obj/$f.obj" -- "$src/$f.c"
  found="$(gnu_only "$src/$f.c")"
  [ -z "$found" ] || { echo "build-msvc.sh: not for MSVC's C compiler:" >&2; echo "$found" | sort -u >&2; exit 1; }
done
if [ "${MSVC_ONLY_COMPILE:-0}" = 1 ]; then
  echo "build-msvc.sh: addon.c common.c win.c compile in MSVC mode ($(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $started }") s)"
  exit 0
fi
"${CL[@]}" /O2 /GS- /Zl /W4 /WX /Fo"$MSVC_DIR/obj/vcruntime-stub.obj" -- "$MSVC_DIR/vcruntime-stub.c"
# node-gyp links its win_delay_load_hook.cc (C++) into every addon and delay-loads node.exe.
hook="$(npm root -g)/npm/node_modules/node-gyp/src/win_delay_load_hook.cc"
"${CL[@]}" /TP /O2 /GS /W3 /WX -Wno-unknown-pragmas '/DHOST_BINARY="node.exe"' /Fo"$MSVC_DIR/obj/delay-hook.obj" -- "$hook"
(cd "$MSVC_DIR/obj" && llvm-ar-$LLVM x "$MINGW_LIB/libmingwex.a" lib64_libmingwex_a-delayimp.o)
# node.lib as node-gyp links it, for Node-API only: an MSVC-format import library of node.exe.
llvm-dlltool-$LLVM -m i386:x86-64 -d "$NODE_API_DIR/def/node_api.def" -D node.exe -l "$MSVC_DIR/obj/node.lib"
lld-link-$LLVM /nologo /dll /machine:x64 /entry:_DllMainCRTStartup /nodefaultlib /opt:ref /opt:icf /out:"$MSVC_DLL.tmp" \
  /delayload:node.exe /alternatename:__image_base__=__ImageBase "$MSVC_DIR/obj/lib64_libmingwex_a-delayimp.o" \
  "$MSVC_DIR"/obj/{addon,common,win,vcruntime-stub,delay-hook}.obj "$MSVC_DIR/obj/node.lib" \
  "$MINGW_LIB/libws2_32.a" "$MINGW_LIB/libkernel32.a" "$MINGW_LIB/libucrt.a"
mv "$MSVC_DLL.tmp" "$MSVC_DLL"
echo "build-msvc.sh: $MSVC_DLL ($(stat -c %s "$MSVC_DLL") bytes, $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $started }") s)"
# The DLLs it imports: node.exe (delay-loaded), ws2_32, kernel32 and the UCRT's api sets.
llvm-readobj-$LLVM --coff-imports "$MSVC_DLL" |
  awk '/^Import \{/ { d = "" } /^DelayImport \{/ { d = " (delay-loaded)" } /^  Name: / { print "  imports " $2 d }'
