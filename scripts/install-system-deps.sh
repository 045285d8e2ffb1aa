#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the gpu backend needs:
#   to build headless-gl (the `gl` module, built from source with its bundled ANGLE):
#     build-essential python3 python-is-python3 pkg-config libx11-dev libxi-dev libxext-dev libgl1-mesa-dev
#     (ANGLE's gyp calls plain `python`: without python-is-python3 the build fails, and npm still
#      exits 0 because gl is an optional dependency of gpu.js: check node_modules/gl/build/Release/webgl.node)
#   to run it (headless-gl 8 on Linux needs an X display: Xvfb with Mesa's software GL, llvmpipe):
#     libgl1-mesa-dri libglx-mesa0 xvfb xauth
# Idempotent: installs only what is missing, runs `apt-get update` at most once.
# Needs root (CI runs it as root); as another user it uses sudo when that works without a
# password, and otherwise prints the command to run.
# Then: npm_config_build_from_source=gl npm ci   (or: npm rebuild gl), and run GPU code under
#   xvfb-run -a -s '-screen 0 1x1x24 -nolisten tcp' node ...
set -euo pipefail

PACKAGES=(
  build-essential python3 python-is-python3 pkg-config libx11-dev libxi-dev libxext-dev libgl1-mesa-dev
  libgl1-mesa-dri libglx-mesa0 xvfb xauth
  chromium   # test/browser.test.mjs: headless Chromium (SwiftShader WebGL2) driven by playwright-core
  valgrind   # scripts/valgrind.sh: memcheck of the native addon (no invalid read/write, no uninitialised use)
  g++-aarch64-linux-gnu qemu-user   # scripts/arm64-check.sh: the NEON kernels built for arm64 and run under qemu
)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: this script supports Debian/Ubuntu (apt-get, dpkg-query); install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: all ${#PACKAGES[@]} packages already installed (${PACKAGES[*]})"
  exit 0
fi

echo "install-system-deps: missing: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-system-deps: not root and no password-less sudo; run as root:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-system-deps: installed ${missing[*]}"
