// The test jobs: one process each. `env` is added to the environment; `display: true` runs the
// job under xvfb-run when no X display is set (headless-gl needs one); `notHere` (a reason) lists
// the job as not run on this machine.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

/**
 * Why a forced ISA level cannot run on this CPU (the addon's own check), or null. Jobs for such a
 * level are listed as not run here instead of failing: the machine, not the code, lacks it.
 */
function isaMissing(isa) {
  const probe = "const n=require('./dist/cjs/index.js').backends().find(b=>b.name==='native');process.stdout.write(n&&!n.available&&/asks for more than this CPU/.test(n.reason)?n.reason:'')";
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: path.join(__dirname, '..'), env: { ...process.env, ATTNKIT_ISA: isa }, encoding: 'utf8' });
  return r.status === 0 && r.stdout ? r.stdout : null;
}

module.exports = function jobs() {
  const missing = { avx512: isaMissing('avx512'), avx2: isaMissing('avx2') };
  // ATTNKIT_TEST_NO_ISA=avx512 treats a level as absent (test/cli.test.mjs checks the report of it).
  for (const isa of (process.env.ATTNKIT_TEST_NO_ISA ?? '').split(',').filter(Boolean)) missing[isa] = `${isa} treated as absent (ATTNKIT_TEST_NO_ISA)`;
  const isaJob = (label, file, isa) => ({ label, file, env: { ATTNKIT_ISA: isa }, notHere: missing[isa] ?? null });
  return [
    { label: 'reference', file: 'test/reference.test.mjs' },
    // Backward ops: reference and the float64 backward oracles against central finite differences.
    { label: 'grad (backward ops vs float64 finite differences)', file: 'test/grad.test.mjs' },
    { label: 'dispatch', file: 'test/dispatch.test.mjs' },
    { label: 'errors', file: 'test/errors.test.mjs' },
    { label: 'tensor', file: 'test/tensor.test.mjs' },
    // Every float16 and bfloat16 pattern decoded, every midpoint encoded, 3M random float32 patterns: oracles from the format definitions.
    { label: 'half (float16/bfloat16 conversions, exhaustive)', file: 'test/half.test.mjs' },
    // Jagged tensors (#17): values + offsets, to/from padded, typed errors, detached/resized buffers.
    { label: 'jagged (values + offsets: padded round trips, typed errors)', file: 'test/jagged.test.mjs' },
    // Sharded retrieval (#17): topK per shard + mergeTopK == topK over the whole table, every backend.
    { label: 'mergeTopK (sharded topK == whole-table topK, every backend)', file: 'test/mergeTopK.test.mjs', display: true },
    // Jagged pooling (#17): targetAttention / additiveAttention over jagged histories and topK's jagged
    // exclusion lists vs the float64 oracles per user, vs the padded + keyLengths call; typed errors;
    // native threads / async / addon checks. Every backend here; the lower ISA levels below.
    { label: 'jagged pool (target/additive attention over jagged histories, jagged topK exclusions; reference, native, gpu)', file: 'test/jagged-pool.test.mjs', display: true },
    { ...isaJob('jagged pool native (avx2)', 'test/jagged-pool.test.mjs', 'avx2'), env: { ATTNKIT_ISA: 'avx2', ATTNKIT_TEST_BACKENDS: 'native' } },
    { label: 'jagged pool native (scalar)', file: 'test/jagged-pool.test.mjs', env: { ATTNKIT_ISA: 'scalar', ATTNKIT_TEST_BACKENDS: 'native' } },
    { label: 'cli', file: 'test/cli.test.mjs' },
    { label: 'peer graphs hstu (bench onnxruntime graphs of sdpaBackward, hstuAttention(Backward) vs float64 oracles)', file: 'test/peer-graphs-hstu.test.mjs' },
    { label: 'peer graphs training (bench onnxruntime graphs and tfjs forms of the training ops vs reference)', file: 'test/peers.test.mjs' },
    // The SASRec example (examples/sasrec/): generator + oracle, ML-1M loader, metrics, report, CLI,
    // the model's gradients against finite differences and a quick training run (native when built).
    { label: 'sasrec (example: data, loader, metrics, a quick training run)', file: 'test/sasrec.test.mjs' },
    { label: 'docs (README op table, ARCHITECTURE paths, TSDoc on every export)', file: 'test/docs.test.mjs' },
    isaJob('native (avx512)', 'test/native.test.mjs', 'avx512'),
    isaJob('native (avx2)', 'test/native.test.mjs', 'avx2'),
    { label: 'native (scalar)', file: 'test/native.test.mjs', env: { ATTNKIT_ISA: 'scalar' } },
    // Half-precision operands read by the kernels themselves (#16): convert kernels over every
    // pattern, sdpa and topK against float32 on the decoded inputs and the float64 oracles.
    isaJob('native half (avx512)', 'test/native-half.test.mjs', 'avx512'),
    isaJob('native half (avx2)', 'test/native-half.test.mjs', 'avx2'),
    { label: 'native half (scalar)', file: 'test/native-half.test.mjs', env: { ATTNKIT_ISA: 'scalar' } },
    // sdpaBackward's native kernel: float64 oracle, dBias over every broadcast kind, NaN rules, threads, async, addon checks, vs reference.
    isaJob('native backward (avx512)', 'test/native-backward.test.mjs', 'avx512'),
    isaJob('native backward (avx2)', 'test/native-backward.test.mjs', 'avx2'),
    { label: 'native backward (scalar)', file: 'test/native-backward.test.mjs', env: { ATTNKIT_ISA: 'scalar' } },
    // HSTU attention (#17): forward and backward against the float64 oracle, threads, async, the addon's checks.
    isaJob('native hstu (avx512)', 'test/native-hstu.test.mjs', 'avx512'),
    isaJob('native hstu (avx2)', 'test/native-hstu.test.mjs', 'avx2'),
    { label: 'native hstu (scalar)', file: 'test/native-hstu.test.mjs', env: { ATTNKIT_ISA: 'scalar' } },
    // The cmake-js build of the same sources (npm run build:cmake), loaded explicitly.
    { label: 'native (cmake-js build)', file: 'test/native-cmake.test.mjs', env: { ATTNKIT_NATIVE_PATH: 'build-cmake/Release/attnkit.node' } },
    // linear, topK and the layers built on them: against reference, NaN/Inf, threads, async, addon checks.
    isaJob('native composites (avx512)', 'test/native-composites.test.mjs', 'avx512'),
    isaJob('native composites (avx2)', 'test/native-composites.test.mjs', 'avx2'),
    { label: 'native composites (scalar)', file: 'test/native-composites.test.mjs', env: { ATTNKIT_ISA: 'scalar' } },
    // The GEMM ops with float16 / bfloat16 / mixed operands: bit-identical to the float32 call on the decoded values.
    isaJob('native half GEMM (avx512)', 'test/native-half-gemm.test.mjs', 'avx512'),
    isaJob('native half GEMM (avx2)', 'test/native-half-gemm.test.mjs', 'avx2'),
    { label: 'native half GEMM (scalar)', file: 'test/native-half-gemm.test.mjs', env: { ATTNKIT_ISA: 'scalar' } },
    { label: 'gpu (headless-gl under Xvfb: shared specs + gpu-specific)', file: 'test/gpu.test.mjs', display: true },
    // HSTU attention on the gpu (#17): float64 oracle on every option, a long sequence among short ones, exact time buckets, hidden NaN, limits.
    { label: 'gpu hstu (hstuAttention forward/backward: oracle, long sequence, time buckets, NaN, limits)', file: 'test/gpu-hstu.test.mjs', display: true },
    // No display on purpose (DISPLAY emptied, not under xvfb-run): the unavailable path must be explicit.
    // KvCache semantics, then sdpa over a cache and incremental == all at once on reference, native and gpu.
    { label: 'kvCache (append, sdpa over a cache, incremental decoding; every backend)', file: 'test/kvCache.test.mjs', display: true },
    // Half inputs through the API: typed errors, outputDtype, half KV caches, onnxruntime float16 tensors; every backend.
    { label: 'half ops (outputDtype, half KV caches, float16 tensors; every backend)', file: 'test/half-ops.test.mjs', display: true },
    // Training composites (returnSaved + multiHeadAttentionBackward / transformerEncoderLayerBackward): every backend.
    { label: 'training composites (every backend)', file: 'test/training.test.mjs', display: true },
    // Training the pooling ops (returnSaved + additiveAttentionBackward / targetAttentionBackward): every backend.
    { label: 'pool training (additive / target attention backward; every backend)', file: 'test/pool-training.test.mjs', display: true },
    { label: 'gpu-unavailable (no X display)', file: 'test/gpu-unavailable.test.mjs', env: { DISPLAY: '' } },
    // Reliability under hostile input, concurrency and repeated calls: every backend; the gpu parts
    // need the display. concurrency and memory re-run themselves with --expose-gc.
    { label: 'fuzz (hostile input, every backend + raw addon)', file: 'test/fuzz.test.mjs', display: true },
    { label: 'edge (numerical edge cases, every backend)', file: 'test/edge.test.mjs', display: true },
    { label: 'concurrency (async lifetime, gc, detach in flight, 1000 concurrent, worker_threads)', file: 'test/concurrency.test.mjs', display: true },
    { label: 'memory (RSS over 10,000 calls per op; 16384x16384 sdpa peak)', file: 'test/memory.test.mjs', display: true },
    { label: 'smoke (verify + bench --quick, every backend)', file: 'test/smoke.test.mjs', display: true },
    // Chromium headless needs no X display; it fails in CI without /usr/bin/chromium, skips elsewhere.
    { label: 'browser (bundle in Chromium: reference + gpu on WebGL2)', file: 'test/browser.test.mjs', timeoutMs: 5 * 60 * 1000 },
    // npm pack -> install into empty projects (registry deps via the npm cache): source build, prebuilt, --ignore-scripts; types; require/import.
    { label: 'pack (tarball installs as a dependency)', file: 'test/pack.test.mjs', timeoutMs: 15 * 60 * 1000 },
  ];
};
