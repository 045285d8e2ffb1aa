#!/usr/bin/env bash
# Builds the prebuilt Node-API binary that ships in the npm package:
#   prebuilds/<platform>-<arch>/attnkit.napi.node   (e.g. prebuilds/linux-x64/ on CI)
# with prebuildify --napi --strip (the node-gyp-build layout: `npm install` of the package finds it
# and skips compiling; src/backends/native/loader.ts tries it before build/Release).
#
# The build runs in a scratch copy of the addon sources, so the developer build in build/ is left
# alone. prebuildify is node_modules/.bin/prebuildify when installed, else fetched into the npm cache by npx. Node headers come
# from npm's `nodedir` setting when set (as on these machines), else node-gyp's usual download.
# One Node-API build serves every Node version >= 20 (NAPI_VERSION 8). JOBS (default 2) bounds make.
#
# Usage: scripts/prebuild.sh [OUT_DIR]   (default: prebuilds, i.e. what `npm pack` ships)
# Note: src/backends/native/loader.ts prefers prebuilds/ over build/Release, so while developing
# the addon, delete prebuilds/ (or write elsewhere) or the loader keeps loading the prebuilt one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="$(mkdir -p "${1:-prebuilds}" && cd "${1:-prebuilds}" && pwd)"
target="$(node -p 'process.platform + "-" + process.arch')"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/attnkit-prebuild.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp -r binding.gyp package.json native "$tmp/"
ln -s "$root/node_modules" "$tmp/node_modules"   # node-addon-api (include dir) and node-gyp

# A prebuildify in devDependencies (pinned by the lockfile) wins; else npx fetches 6.x into the npm cache.
if [ -x "$root/node_modules/.bin/prebuildify" ]; then prebuildify=("$root/node_modules/.bin/prebuildify"); else prebuildify=(npx --yes prebuildify@6); fi
echo "prebuild: building $target with ${prebuildify[*]} --napi --strip (JOBS=${JOBS:-2})"
(cd "$tmp" && JOBS="${JOBS:-2}" "${prebuildify[@]}" --napi --strip)

built=("$tmp/prebuilds/$target/"*.node)
[ -f "${built[0]}" ] || { echo "prebuild: prebuildify produced no binary in prebuilds/$target" >&2; exit 1; }
rm -rf "${out:?}/$target"
mkdir -p "$out/$target"
cp "${built[@]}" "$out/$target/"

# It must load and report itself.
for f in "$out/$target/"*.node; do
  node -e '
    const a = require(process.argv[1]);
    const i = a.info();
    console.log(`prebuild: ${process.argv[1]}: ${(require("fs").statSync(process.argv[1]).size / 1024).toFixed(0)} KiB, isa ${i.isa} (detected ${i.detectedIsa}), napi ${i.napiVersion}`);
  ' "$f"
done
