#!/usr/bin/env bash
# valgrind memcheck over a subset of the native backend (memory errors that do not crash, which
# the fuzzer cannot see): every op, sync and async, small shapes, through the public API
# (scripts/valgrind-subset.mjs). Counts only errors whose
# stack has a frame in attnkit.node; node/V8's own (JIT code, GC scanning, its arena allocator)
# are suppressed by test/fixtures/valgrind.supp. Uses the normal (uninstrumented) addon build.
# Usage: bash scripts/valgrind.sh   (needs valgrind: scripts/install-system-deps.sh installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind missing (apt-get install valgrind)" >&2; exit 1; }
log="$(mktemp -t attnkit-valgrind.XXXXXX)"
start=$(date +%s)
# --smc-check: V8 writes and runs JIT code; ATTNKIT_ISA=avx2: valgrind does not emulate AVX-512.
ATTNKIT_ISA=avx2 valgrind --tool=memcheck --error-limit=no --smc-check=all-non-file \
  --suppressions=test/fixtures/valgrind.supp --num-callers=30 --log-file="$log" \
  node --jitless scripts/valgrind-subset.mjs
ours=$(grep -cE "^==[0-9]+== (Invalid|Conditional|Use of uninitialised|Syscall param|Mismatched|Source and destination)" "$log" || true)
inaddon=$(awk '/^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and dest)/{e=1; hit=0; next} e && /attnkit\.node/{hit=1} e && /^==[0-9]+== $/{ if (hit) n++; e=0 } END{print n+0}' "$log")
grep -E "ERROR SUMMARY" "$log" | tail -1
echo "valgrind: $ours error reports in total, $inaddon with an attnkit.node frame; $(( $(date +%s) - start )) s"
if [ "$inaddon" != 0 ]; then grep -B2 -A30 "attnkit.node" "$log" | head -120; rm -f "$log"; exit 1; fi
rm -f "$log"
