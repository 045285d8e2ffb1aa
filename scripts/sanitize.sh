#!/usr/bin/env bash
# Runs the native backend's specs, the hostile-input fuzzer (public API and raw addon) and the
# concurrency tests against the AddressSanitizer + UndefinedBehaviorSanitizer build of the addon
# (npm run build:asan -> build-asan/Release/attnkit.node). Fails on any sanitizer report, any
# failed test or any crash. Usage: bash scripts/sanitize.sh [--no-build] [fuzz-count (default 20000)]
#
# node itself is not instrumented, so libasan is preloaded (it must come first in the process);
# detect_leaks=0 because node and V8 leak by design at exit (that is not attnkit's memory);
# every UBSan check is fatal (-fno-sanitize-recover=all in the build, halt_on_error here).
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
count=20000
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) count="$a" ;;
  esac
done

start=$(date +%s)
if [ "$build" = 1 ]; then npm run build:asan; fi
addon="$PWD/build-asan/Release/attnkit.node"
[ -f "$addon" ] || { echo "sanitize: $addon missing; run npm run build:asan" >&2; exit 1; }
[ -f dist/cjs/index.js ] || npm run build

libasan="$(gcc -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "sanitize: libasan not found (gcc -print-file-name=libasan.so gave $libasan)" >&2; exit 1; }

export LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ATTNKIT_NATIVE_PATH="$addon"
export ATTNKIT_TEST_BACKENDS=native

log="$(mktemp -t attnkit-sanitize.XXXXXX)"
status=0
run() {
  echo "=== sanitize: $*"
  local t0; t0=$(date +%s)
  if ! "$@" >"$log.step" 2>&1; then status=1; echo "sanitize: FAILED: $*"; fi
  tail -n 12 "$log.step"
  cat "$log.step" >>"$log"
  echo "--- $(( $(date +%s) - t0 )) s"
}

# The addon really is the sanitized one (a report-free run of an uninstrumented build proves nothing).
run node -e "
  const { loadAddon } = require('./dist/cjs/backends/native/loader.js');
  const r = loadAddon();
  if (!r.addon || r.path !== process.env.ATTNKIT_NATIVE_PATH) { console.error('not the sanitizer build:', r.path, r.reason); process.exit(1); }
  const syms = require('child_process').execSync('nm -D ' + r.path).toString();
  if (!/__asan_/.test(syms) || !/__ubsan_/.test(syms)) { console.error('addon has no ASan/UBSan instrumentation'); process.exit(1); }
  console.log('sanitizer build loaded:', r.path, r.addon.info().isa);
"
for isa in avx512 avx2 scalar; do
  # every SIMD path: the native specs at each ISA level the CPU supports; a level it lacks is a
  # visible SKIP, any other reason the addon does not load at that level a failure
  why=$(ATTNKIT_ISA=$isa node -e "const a=require('./dist/cjs/index.js');const n=a.backends().find(b=>b.name==='native');process.stdout.write(n.available?'':n.reason)" 2>/dev/null) || why="the availability probe crashed"
  if [ -z "$why" ]; then
    ATTNKIT_ISA=$isa run node test/native.test.mjs
  elif [[ "$why" == *"asks for more than this CPU"* ]]; then
    echo "sanitize: SKIP $isa: $why"
  else
    status=1
    echo "sanitize: FAILED: native unavailable at ATTNKIT_ISA=$isa: $why"
  fi
done
run node test/fuzz.test.mjs
run node test/concurrency.test.mjs
run node scripts/fuzz-long.mjs --backends native --count "$count" --raw "$count"

reports=$(grep -cE "ERROR: AddressSanitizer|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)" "$log" || true)
echo "sanitize: $reports sanitizer reports; $(( $(date +%s) - start )) s in all"
rm -f "$log" "$log.step"
if [ "$reports" != 0 ] || [ "$status" != 0 ]; then echo "sanitize: FAILED"; exit 1; fi
echo "sanitize: OK"
