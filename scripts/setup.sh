#!/usr/bin/env bash
# Installs everything attnkit needs on a fresh Debian/Ubuntu machine, from the repo's own files:
# the system packages headless-gl needs (build + Xvfb/Mesa at run time), the npm packages (gl is
# built from source: no prebuilt binary can be downloaded here), the native addon, and the
# TypeScript build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh

export npm_config_build_from_source=gl   # gl: skip the doomed prebuilt download, build from source
export ONNXRUNTIME_NODE_INSTALL=skip     # onnxruntime-node (bench peer): its CPU binary ships in the package
export JOBS="${JOBS:-max}"               # parallel make for gl's bundled ANGLE

stamp=node_modules/.attnkit-setup-stamp
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "$stamp" -nt package.json ]; then
  echo "setup: node_modules is up to date with package-lock.json"
else
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

if [ ! -f node_modules/gl/build/Release/webgl.node ]; then
  echo "setup: error: gl (headless-gl) did not build, so the gpu backend cannot run." >&2
  echo "setup: npm exits 0 anyway because gl is an optional dependency of gpu.js. Re-run:" >&2
  echo "setup:   bash scripts/install-system-deps.sh && npm_config_build_from_source=gl npm rebuild gl --foreground-scripts" >&2
  exit 1
fi

# The addon: npm ci ran `node-gyp-build` (prebuilt binary if one fits, else a local build).
if ! ls build/Release/attnkit.node prebuilds/*/*.node >/dev/null 2>&1; then
  npm run build:native
fi

# The second build of the same sources (cmake-js): the README's test command loads it too
# (test/native-cmake.test.mjs), so a fresh machine gets it here, not only in CI.
if [ ! -f build-cmake/Release/attnkit.node ]; then
  npm run build:cmake
fi

npm run build
echo "setup: done"
