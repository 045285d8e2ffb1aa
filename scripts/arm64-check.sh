#!/usr/bin/env bash
# arm64: the addon's sources (NEON kernels included) cross-compiled for aarch64 and linked into an
# addon binary, then the NEON kernels run under qemu-user against float64 loops
# (test/arm64/neon_check.cc), at ATTNKIT_ISA=neon and at ATTNKIT_ISA=scalar. No arm64 machine or
# arm64 Node is needed: the check program links the plain C++ kernels, not the N-API bindings.
# Needs g++-aarch64-linux-gnu and qemu-user (scripts/install-system-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=aarch64-linux-gnu-g++
for tool in "$CXX" qemu-aarch64; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "arm64-check: $tool is missing; run: bash scripts/install-system-deps.sh" >&2
    exit 1
  fi
done

out=build-arm64
rm -rf "$out"
mkdir -p "$out/obj"
# binding.gyp's flags (C++17, -O3, exceptions, hidden visibility); no -march: Advanced SIMD is
# baseline on AArch64, so the NEON files need no target attribute.
FLAGS=(-std=c++17 -O3 -fexceptions -fvisibility=hidden -fPIC -Werror=return-type
       -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS
       -Inative/include -Inative/src -Inative -Inode_modules/node-addon-api -Inode_modules/node-api-headers/include)

read -r -a sources <<< "$(node native/sources.js)"
echo "arm64-check: compiling ${#sources[@]} sources with $($CXX --version | head -1)"
jobs=$(nproc)
pids=()
for src in "${sources[@]}"; do
  "$CXX" "${FLAGS[@]}" -c "$src" -o "$out/obj/$(echo "$src" | tr / _).o" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done

# The addon itself (N-API symbols stay undefined until Node loads it, as in any addon).
"$CXX" -shared -pthread -o "$out/attnkit.node" "$out"/obj/*.o
aarch64-linux-gnu-readelf -h "$out/attnkit.node" | grep -q 'Machine: *AArch64' || { echo "arm64-check: $out/attnkit.node is not an aarch64 binary" >&2; exit 1; }
neon_files=$(ls "$out"/obj/*_neon.cc.o | wc -l)
echo "arm64-check: linked $out/attnkit.node (aarch64; $neon_files NEON kernel files)"

# The check program: kernels and pool only (no bindings), static so qemu needs no sysroot.
kernel_objs=$(ls "$out"/obj/*.o | grep -v '/native_bindings_')
# (-fno-tree-vectorize: gcc 12's aarch64 vectoriser has an internal compiler error on one of the
# float64 reference loops; those loops are the yardstick, not the code under test.)
"$CXX" "${FLAGS[@]}" -fno-tree-vectorize -static -pthread -o "$out/neon_check" test/arm64/neon_check.cc $kernel_objs
# The ops with an ISA kernel of their own and their native verify tolerances, from the op
# descriptors in the built package (npm run build), as op rtol atol.
read -r -a tols <<< "$(node -e "const ak = require('./dist/cjs/index.js');
process.stdout.write(ak.OP_NAMES.filter((op) => ak.OPS[op].native.isaKernel).map((op) => [op, ak.OPS[op].tolerances.native.rtol, ak.OPS[op].tolerances.native.atol].join(' ')).join(' '))")"
for isa in neon scalar; do
  echo "arm64-check: ATTNKIT_ISA=$isa qemu-aarch64 $out/neon_check $isa ${tols[*]}"
  ATTNKIT_ISA=$isa qemu-aarch64 "$out/neon_check" "$isa" "${tols[@]}"
done
echo "arm64-check: ok"
