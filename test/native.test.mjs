// The native backend: the shared op specs, then native-only tests (adversarial sizes, every
// mask/bias kind, NaN/Inf rules, thread-count determinism, async, argument checking in the addon
// itself). Run once per ISA level via ATTNKIT_ISA (see test/jobs.js).
import { createRequire } from 'module';
import { spawnSync } from 'child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { runSpecs } from './specs/index.mjs';

const require = createRequire(import.meta.url);
const info = ak.nativeInfo();
const inCI = process.env.CI === 'true';

runSpecs('native');

if (!info.available) {
  const s = suite('native · availability');
  if (inCI) s('native is available in CI', () => assert.unreachable(info.reason));
  else s.skip(`native tests (unavailable: ${info.reason})`, () => {});
  s.run();
} else {
  nativeTests();
}

function nativeTests() {
  const addon = require(info.path);
  const { sdpa, sdpaAsync, random, mask, tensor } = ak;
  const NATIVE = { backend: 'native' };
  const verified = (rows) => {
    let report;
    const o = { backend: 'native', verify: rows ? { rows } : true, onReport: (r) => (report = r.verify) };
    // Not enumerable: dispatch rejects unknown keys in its options.
    Object.defineProperty(o, 'report', { enumerable: false, get: () => report });
    return o;
  };
  const rnd = (shape, seed, scale = 1) => random(shape, { seed, low: -scale, high: scale });
  const bitsEqual = (a, b, what) => {
    assert.is(a.length, b.length, `${what}: length`);
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.unreachable(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  };

  // ------------------------------------------------------------------------------------------
  const sys = suite('native · system');
  sys('info reports the ISA in use, threads and kernel variants', () => {
    const want = process.env.ATTNKIT_ISA;
    assert.ok(want, 'test/jobs.js runs this file with ATTNKIT_ISA set (one job per ISA level)');
    assert.is(info.isa, want, 'ATTNKIT_ISA selects the path');
    // Every kernel family runs that level (each has a variant per x86 level; neon builds map to it).
    for (const [family, k] of Object.entries(info.kernels)) {
      assert.ok(k.variants.includes(want) || want === 'neon', `${family} has a ${want} variant (has ${k.variants.join(', ')})`);
      assert.is(k.selected, want, `${family} runs ${want}`);
    }
    const b = ak.backends().find((x) => x.name === 'native');
    assert.ok(b.available);
    assert.is(b.isa, info.isa);
    assert.ok(b.threads >= 1);
    assert.is(info.kernels.sdpa.selected, info.isa === 'neon' || info.kernels.sdpa.variants.includes(info.isa) ? info.isa : 'scalar');
    const r = sdpa(rnd([1, 1, 3, 4], 1), rnd([1, 1, 5, 4], 2), rnd([1, 1, 5, 4], 3), {}, NATIVE);
    assert.ok(r.data.length === 12);
    assert.is(addon.lastKernel(), `sdpa:${info.kernels.sdpa.selected}`);
  });
  sys('every op reports the forced ISA level as the kernel that ran', () => {
    const x8 = rnd([1, 4, 8], 1), w = (sd) => rnd([8, 8], sd);
    const calls = {
      softmax: () => ak.softmax(rnd([3, 5], 1), null, NATIVE),
      layerNorm: () => ak.layerNorm(rnd([3, 5], 1), null, null, null, NATIVE),
      gelu: () => ak.gelu(rnd([3, 5], 1), null, NATIVE),
      topK: () => ak.topK(rnd([2, 4], 1), rnd([9, 4], 2), 3, {}, NATIVE),
      targetAttention: () => ak.targetAttention(rnd([2, 4], 1), rnd([2, 5, 4], 2), { layers: [{ w: rnd([16, 3], 3), b: rnd([3], 4) }, { w: rnd([3, 1], 5), b: rnd([1], 6) }] }, null, NATIVE),
      multiHeadAttention: () => ak.multiHeadAttention(x8, x8, x8, { wq: w(2), wk: w(3), wv: w(4), wo: w(5) }, { numHeads: 2 }, NATIVE),
      transformerEncoderLayer: () => ak.transformerEncoderLayer(x8, { attention: { wq: w(2), wk: w(3), wv: w(4), wo: w(5) }, ffn: { w1: rnd([8, 16], 6), w2: rnd([16, 8], 7) } }, { numHeads: 2 }, NATIVE),
      softmaxBackward: () => ak.softmaxBackward(rnd([3, 5], 1), rnd([3, 5], 2), null, NATIVE),
      layerNormBackward: () => ak.layerNormBackward(rnd([3, 5], 1), rnd([3, 5], 2), null, { mean: rnd([3], 3), invStd: rnd([3], 4) }, NATIVE),
      linearBackward: () => ak.linearBackward(rnd([3, 4], 1), rnd([3, 5], 2), rnd([5, 4], 3), NATIVE),
      geluBackward: () => ak.geluBackward(rnd([3, 5], 1), rnd([3, 5], 2), null, NATIVE),
      siluBackward: () => ak.siluBackward(rnd([3, 5], 1), rnd([3, 5], 2), null, NATIVE),
      embeddingBackward: () => ak.embeddingBackward(rnd([5, 8], 1), Int32Array.of(0, 2, 2, 1, 0), 3, {}, NATIVE),
      adamStep: () => { const p = rnd([4, 8], 1); return ak.adamStep(p, rnd([4, 8], 2), ak.adamState(p), {}, NATIVE); },
    };
    for (const [op, call] of Object.entries(calls)) {
      call();
      assert.is(addon.lastKernel(), `${op}:${process.env.ATTNKIT_ISA}`);
    }
  });
  sys('the loaded addon is not older than the native sources (a stale build would test old kernels)', () => {
    const fs = require('fs');
    const path = require('path');
    const root = path.resolve(path.dirname(require('url').fileURLToPath(import.meta.url)), '..');
    if (!info.path.startsWith(root + path.sep)) return; // an installed copy elsewhere: nothing to compare with
    let newest = ['binding.gyp', 'CMakeLists.txt'].map((f) => [f, fs.statSync(path.join(root, f)).mtimeMs]).reduce((a, b) => (b[1] > a[1] ? b : a));
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const f = path.join(dir, e.name);
        if (e.isDirectory()) walk(f);
        else if (/\.(cc|h|cpp|hpp)$/.test(e.name) && fs.statSync(f).mtimeMs > newest[1]) newest = [path.relative(root, f), fs.statSync(f).mtimeMs];
      }
    };
    walk(path.join(root, 'native'));
    const built = fs.statSync(info.path).mtimeMs;
    assert.ok(built >= newest[1], `${path.relative(root, info.path)} is older than ${newest[0]}: rebuild (npm run build:native, or npm run build:cmake for build-cmake/)`);
  });
  sys('setThreads / getThreads', () => {
    const n0 = ak.getThreads();
    assert.is(ak.setThreads(3), 3);
    assert.is(ak.getThreads(), 3);
    assert.throws(() => ak.setThreads(-1), /threads/);
    assert.throws(() => ak.setThreads(1.5), /threads/);
    ak.setThreads(0);
    assert.is(ak.getThreads(), info.hardwareThreads);
    ak.setThreads(n0);
  });
  sys('measurePeak returns a positive GFLOP/s', () => {
    const p = ak.measurePeak({ threads: 1, ms: 20 });
    assert.ok(p.gflops > 0.1, `gflops ${p.gflops}`);
    assert.is(p.threads, 1);
    for (const [bad, argument] of [[{ ms: 'x' }, 'options.ms'], [{ threads: 0 }, 'options.threads'], [{ thread: 1 }, 'options.thread']]) {
      assert.throws(() => ak.measurePeak(bad), (e) => e instanceof ak.ValueError && e.argument === argument, argument);
    }
  });
  sys('measureBandwidth checks its arguments and returns positive finite GB/s', () => {
    // No timing assertions: only that the figures are positive finite numbers, at both levels.
    for (const [threads, bytes] of [[1, 256 * 1024], [2, 4 * 2 ** 20]]) {
      const b = ak.measureBandwidth({ threads, bytes, ms: 5, trials: 2 });
      assert.ok(Number.isFinite(b.gbps) && b.gbps > 0, `gbps ${b.gbps}`);
      assert.is(b.trials.length, 2);
      for (const t of b.trials) assert.ok(Number.isFinite(t) && t > 0, `trial ${t}`);
      assert.is(b.gbps, Math.max(...b.trials));
      assert.is(b.threads, threads);
      assert.ok(b.bytesPerThread > 0 && b.bytesPerThread <= bytes && b.bytesPerThread % 768 === 0, `bytesPerThread ${b.bytesPerThread}`);
      assert.ok(Number.isFinite(b.ms) && b.ms > 0);
      assert.type(b.isa, 'string');
    }
    const bads = [
      [{ ms: 'x' }, 'options.ms'], [{ ms: 0 }, 'options.ms'], [{ threads: 0 }, 'options.threads'], [{ threads: 1.5 }, 'options.threads'],
      [{ bytes: 100 }, 'options.bytes'], [{ bytes: 1024.5 }, 'options.bytes'], [{ bytes: 2 ** 40 }, 'options.bytes'], [{ trials: 0 }, 'options.trials'],
      [{ trials: '3' }, 'options.trials'], [{ byte: 1 }, 'options.byte'],
    ];
    for (const [bad, argument] of bads) {
      assert.throws(() => ak.measureBandwidth(bad), (e) => e instanceof ak.ValueError && e.argument === argument, argument);
    }
    assert.throws(() => ak.measureBandwidth(5), (e) => e instanceof ak.DTypeError, 'a number for options');
    // The addon's own checks (the layer under the TS one): typed errors, no crash.
    const raw = require(ak.nativeInfo().path);
    {
      assert.throws(() => raw.measureBandwidth(5), TypeError);
      assert.throws(() => raw.measureBandwidth({ threads: 0 }), RangeError);
      assert.throws(() => raw.measureBandwidth({ bytes: 10 }), RangeError);
      assert.throws(() => raw.measureBandwidth({ ms: 'x' }), TypeError);
    }
  });
  sys.run();

  // ------------------------------------------------------------------------------------------
  const adv = suite('native · sdpa adversarial sizes');
  // Every D with every (L, S) pair; verify against reference (sampled rows on the biggest).
  const Ds = [1, 3, 17, 63, 64, 65, 129];
  const LS = [1, 7, 129, 1000];
  for (const D of Ds) {
    adv(`D=${D}, L,S in {1,7,129,1000}, causal alternating, weights+lse on small`, () => {
      let n = 0;
      for (const L of LS) {
        for (const S of LS) {
          const big = L * S * D > 2e6;
          const q = rnd([1, 2, L, D], 10 + D);
          const k = rnd([1, 2, S, D], 20 + D);
          const v = rnd([1, 2, S, (D % 5) + 2], 30 + D);
          const causal = (n++ & 1) === 1;
          const small = L * S <= 129 * 129;
          const o = verified(big ? 48 : null);
          sdpa(q, k, v, { causal, returnLse: true, returnWeights: small }, o);
          assert.ok(o.report.passed, `L=${L} S=${S}`);
        }
      }
    });
  }
  adv('L != S with grouped-query heads (Hq=6, Hkv=2 and Hkv=1), Dv != D', () => {
    for (const [Hq, Hkv] of [[6, 2], [6, 1], [4, 4]]) {
      for (const [L, S] of [[33, 70], [70, 33], [2, 1500], [1, 3000]]) {
        const o = verified();
        sdpa(rnd([2, Hq, L, 24], 1), rnd([2, Hkv, S, 24], 2), rnd([2, Hkv, S, 40], 3), { causal: L <= S, returnLse: true }, o);
        assert.ok(o.report.passed);
      }
    }
  });
  adv.run();

  // ------------------------------------------------------------------------------------------
  const masks = suite('native · sdpa masks, biases, lengths');
  const [B, H, L, S, D] = [2, 3, 70, 90, 20];
  const q = rnd([B, H, L, D], 41);
  const k = rnd([B, H, S, D], 42);
  const v = rnd([B, H, S, D], 43);
  const maskKinds = {
    'key padding [B,1,1,S]': [B, 1, 1, S],
    'full [B,H,L,S]': [B, H, L, S],
    'per head [H,1,S]': [H, 1, S],
    'rows [L,S]': [L, S],
    'per query [B,1,L,1]': [B, 1, L, 1],
  };
  for (const [name, shape] of Object.entries(maskKinds)) {
    masks(`mask ${name}, with causal / keyLengths / weights`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const m = mask(Uint8Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 0) % 7 !== 0), shape);
      for (const extra of [{}, { causal: true }, { keyLengths: new Int32Array([40, 0]) }, { returnWeights: true }]) {
        const o = verified();
        sdpa(q, k, v, { mask: m, returnLse: true, ...extra }, o);
        assert.ok(o.report.passed);
      }
    });
    masks(`bias ${name}, with -Inf entries, causal and weights`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = rnd([n], 44, 3).data;
      for (let i = 0; i < n; i += 11) data[i] = -Infinity;
      const bias = tensor(data, shape);
      for (const extra of [{}, { causal: true }, { returnWeights: true }, { keyLengths: new Int32Array([90, 5]) }]) {
        const o = verified();
        sdpa(q, k, v, { bias, returnLse: true, ...extra }, o);
        assert.ok(o.report.passed);
      }
    });
  }
  masks('fully masked rows give zeros and lse -Infinity (block, row and weights paths)', () => {
    for (const Lq of [70, 2]) {
      const m = mask(Uint8Array.from({ length: Lq * S }, (_, i) => (Math.floor(i / S) % 3 === 1 ? 0 : 1)), [Lq, S]);
      for (const rw of [false, true]) {
        const r = sdpa(q.data.length ? rnd([B, H, Lq, D], 5) : q, k, v, { mask: m, returnLse: true, returnWeights: rw }, verified());
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++) {
            const row = (b * H + h) * Lq + 1;
            assert.is(r.lse.data[row], -Infinity);
            for (let e = 0; e < D; e++) assert.is(r.output.data[row * D + e], 0);
          }
      }
    }
  });
  masks('keyLengths 0 and causal with L > S leave empty rows at zero', () => {
    const r = sdpa(rnd([2, 2, 80, 8], 1), rnd([2, 2, 30, 8], 2), rnd([2, 2, 30, 8], 3), { causal: true, keyLengths: new Int32Array([0, 30]), returnLse: true }, verified());
    for (let h = 0; h < 2; h++) for (let i = 0; i < 80; i++) assert.is(r.lse.data[h * 80 + i], -Infinity);
    assert.is(r.lse.data[(2 + 0) * 80 + 0], -Infinity, 'row 0 of batch 1 sees no key (i + S - L < 0)');
    assert.ok(Number.isFinite(r.lse.data[(2 + 0) * 80 + 79]));
  });
  masks('logits of ±1e4 stay exact (no overflow, no NaN)', () => {
    for (const Lq of [64, 3]) {
      const qq = rnd([1, 2, Lq, 16], 7, 100);
      const kk = rnd([1, 2, 300, 16], 8, 100);
      // Logits up to M = 100·100·16: ill-conditioned in float32, checked at the derived bound
      // max(tolerance, 8·M·2^-24) like every such case (README, Tolerances).
      const cond = 8 * 100 * 100 * 16 * 2 ** -24;
      const base = ak.getBackend('native').tolerances.sdpa;
      const o = { ...verified(), verify: { rtol: Math.max(base.rtol, cond), atol: Math.max(base.atol, cond) } };
      let report;
      o.onReport = (rep) => (report = rep.verify);
      const r = sdpa(qq, kk, rnd([1, 2, 300, 16], 9), { scale: 1, returnLse: true, returnWeights: Lq === 3 }, o);
      assert.ok(report.passed);
      assert.ok(r.output.data.every(Number.isFinite));
    }
  });
  masks('causal diagonal tiles: L, S around the tile sizes, a mask, and NaN in V rows only masked keys read', () => {
    for (const [Lq, Sk] of [[63, 63], [64, 64], [65, 97], [96, 96], [191, 200], [200, 191], [130, 300], [300, 130]]) {
      const vv = rnd([1, 2, Sk, 12], 50);
      const dead = [Math.floor(Sk / 3), Sk - 1, Math.min(Sk - 1, 80)];
      for (const j of dead) for (let h = 0; h < 2; h++) vv.data[(h * Sk + j) * 12 + 5] = NaN;
      const m = mask(Uint8Array.from({ length: Sk }, (_, j) => (dead.includes(j) ? 0 : 1)), [1, 1, 1, Sk]);
      const o = verified();
      const r = sdpa(rnd([1, 2, Lq, 12], 51), rnd([1, 2, Sk, 12], 52), vv, { causal: true, mask: m, returnLse: true }, o);
      assert.ok(o.report.passed, `L=${Lq} S=${Sk}`);
      assert.ok(r.output.data.every(Number.isFinite), `L=${Lq} S=${Sk}: NaN in a masked key's V leaked`);
    }
  });
  masks('a bias of ±1e4 costs no accuracy: within the default tolerance on the block, row and weights paths', () => {
    // A large common offset with an O(1) spread: the logits differ by O(1) around ±1e4, so rounding
    // fl(logit + bias) alone would move each by up to ulp(1e4)/2 ≈ 5e-4 and its weight by as much
    // relatively (measured 2e-4 output error before the block path carried a TwoSum pair).
    for (const [Lq, Sk, Dh, rw, off] of [[70, 90, 20, false, 1e4], [200, 200, 3, false, -1e4], [33, 65, 64, false, 1e4], [3, 300, 16, false, 1e4], [40, 50, 8, true, -1e4]]) {
      const bias = random([2, Lq, Sk], { seed: 45, low: off - 4, high: off + 4 });
      const o = verified();
      // (no lse here: an lse near ±1e4 is itself only good to ulp(1e4) = 1e-3 in float32)
      sdpa(rnd([2, 2, Lq, Dh], 46), rnd([2, 2, Sk, Dh], 47), rnd([2, 2, Sk, Dh], 48), { bias, returnWeights: rw }, o);
      assert.ok(o.report.passed, `L=${Lq} S=${Sk} D=${Dh}: max abs err ${o.report.maxAbsError}`);
      assert.ok(o.report.maxAbsError <= 1e-6, `L=${Lq} S=${Sk} D=${Dh}: max abs err ${o.report.maxAbsError} (float32 rounding of the output is ~1e-7)`);
    }
  });
  masks.run();

  // ------------------------------------------------------------------------------------------
  const nan = suite('native · sdpa NaN / Inf rules');
  const paths = [
    ['block', 70],
    ['row', 3],
  ];
  for (const [pathName, Lq] of paths) {
    for (const rw of [false, true]) {
      nan(`${pathName} path${rw ? ' + weights' : ''}: NaN in q poisons its row only`, () => {
        const qq = rnd([1, 2, Lq, 16], 1);
        qq.data[16 * 1 + 3] = NaN; // head 0, row 1
        const r = sdpa(qq, rnd([1, 2, 200, 16], 2), rnd([1, 2, 200, 16], 3), { returnLse: true, returnWeights: rw }, verified());
        assert.ok(Number.isNaN(r.output.data[1 * 16]));
        assert.ok(Number.isNaN(r.lse.data[1]));
        assert.ok(Number.isFinite(r.output.data[0]) && Number.isFinite(r.output.data[2 * 16]));
      });
      nan(`${pathName} path${rw ? ' + weights' : ''}: NaN/Inf in masked keys' k and v do not leak`, () => {
        const kk = rnd([1, 2, 200, 16], 2);
        const vv = rnd([1, 2, 200, 16], 3);
        for (const j of [5, 77, 150]) {
          kk.data[j * 16 + 2] = NaN;
          vv.data[j * 16 + 4] = NaN;
          vv.data[(200 + j) * 16 + 1] = Infinity;
        }
        const keep = Uint8Array.from({ length: 200 }, (_, j) => (j === 5 || j === 77 || j === 150 ? 0 : 1));
        const o = verified();
        const r = sdpa(rnd([1, 2, Lq, 16], 1), kk, vv, { mask: mask(keep, [200]), returnWeights: rw }, o);
        const out = r.output ?? r;
        assert.ok(out.data.every(Number.isFinite), 'no NaN leaked from masked keys');
        // Same through keyLengths and a -Infinity bias.
        const kl = sdpa(rnd([1, 2, Lq, 16], 1), kk, vv, { keyLengths: new Int32Array([5]) }, verified());
        assert.ok(kl.data.every(Number.isFinite));
        // A -Infinity bias excludes a key whose k is finite (with NaN in k the logit is NaN, not
        // -Infinity, and the contract makes the row NaN: checked by verify against reference).
        const bias = tensor(Float32Array.from({ length: 200 }, (_, j) => (keep[j] ? 0 : -Infinity)), [200]);
        const bi = sdpa(rnd([1, 2, Lq, 16], 1), rnd([1, 2, 200, 16], 2), vv, { bias, returnWeights: rw }, verified());
        assert.ok((bi.output ?? bi).data.every(Number.isFinite));
        const biNaN = sdpa(rnd([1, 2, Lq, 16], 1), kk, vv, { bias, returnLse: true }, verified());
        assert.ok(Number.isNaN(biNaN.lse.data[0]) && Number.isFinite(biNaN.lse.data[Lq]), 'NaN k under a -Infinity bias: that head NaN, the other head fine');
      });
      nan(`${pathName} path${rw ? ' + weights' : ''}: NaN in an attended value and +Inf bias poison their rows only`, () => {
        const vv = rnd([1, 1, 100, 8], 3);
        vv.data[10 * 8 + 2] = NaN;
        const r = sdpa(rnd([1, 1, Lq, 8], 1), rnd([1, 1, 100, 8], 2), vv, { returnWeights: rw }, verified());
        const out = r.output ?? r;
        for (let i = 0; i < Lq; i++) assert.ok(Number.isNaN(out.data[i * 8 + 2]) && Number.isFinite(out.data[i * 8 + 1]));
        const bias = tensor(Float32Array.from({ length: Lq * 100 }, (_, t) => (t === 100 + 7 ? Infinity : 0)), [Lq, 100]);
        if (Lq > 1) {
          const r2 = sdpa(rnd([1, 1, Lq, 8], 1), rnd([1, 1, 100, 8], 2), rnd([1, 1, 100, 8], 4), { bias, returnLse: true }, verified());
          assert.ok(Number.isNaN(r2.lse.data[1]) && Number.isFinite(r2.lse.data[0]));
        }
      });
    }
  }
  nan.run();

  // ------------------------------------------------------------------------------------------
  const det = suite('native · bit-identical for 1, 2 and 3 threads');
  const detCases = {
    'sdpa block path (causal, mask, GQA)': (o) => sdpa(rnd([2, 4, 150, 40], 1), rnd([2, 2, 170, 40], 2), rnd([2, 2, 170, 24], 3), { causal: true, mask: mask(Uint8Array.from({ length: 170 }, (_, j) => j % 9 !== 0), [170]), returnLse: true }, o),
    'sdpa decode path (chunked keys, merged)': (o) => sdpa(rnd([1, 8, 1, 64], 1), rnd([1, 2, 5000, 64], 2), rnd([1, 2, 5000, 64], 3), { returnLse: true }, o),
    'sdpa weights path': (o) => sdpa(rnd([2, 2, 40, 16], 1), rnd([2, 2, 300, 16], 2), rnd([2, 2, 300, 16], 3), { returnWeights: true, returnLse: true }, o),
    softmax: (o) => ak.softmax(rnd([300, 70], 1, 4), {}, o),
    layerNorm: (o) => ak.layerNorm(rnd([300, 70], 1, 4), rnd([70], 2), rnd([70], 3), 1e-5, o),
    gelu: (o) => ak.gelu(rnd([1000, 70], 1, 4), {}, o),
    softmaxBackward: (o) => ak.softmaxBackward(rnd([300, 70], 2), ak.softmax(rnd([300, 70], 1, 4), {}, NATIVE), {}, o),
    // 26 row blocks (dGamma, dBeta partials added in block order).
    layerNormBackward: (o) => {
      const x = rnd([3000, 70], 1, 4);
      return ak.layerNormBackward(rnd([3000, 70], 2), x, rnd([70], 3), ak.layerNorm(x, null, null, { returnStats: true }, NATIVE), o);
    },
    // 20 row blocks of dW and db (partials added in block order); dx's GEMM over its tiles.
    'linearBackward (row blocks)': (o) => ak.linearBackward(rnd([5000, 3], 1), rnd([5000, 13], 2), rnd([13, 3], 3), o),
    // One row block: the GEMMs' own tiles run in parallel (dW = xᵀ·dy with a transposed A).
    'linearBackward (one block, many tiles)': (o) => ak.linearBackward(rnd([200, 150], 1), rnd([200, 300], 2), rnd([300, 150], 3, 0.1), o),
    'geluBackward (exact)': (o) => ak.geluBackward(rnd([1000, 70], 1), rnd([1000, 70], 2, 4), {}, o),
    'geluBackward (tanh)': (o) => ak.geluBackward(rnd([1000, 70], 1), rnd([1000, 70], 2, 4), { approximate: 'tanh' }, o),
    siluBackward: (o) => ak.siluBackward(rnd([1000, 70], 1), rnd([1000, 70], 2, 4), {}, o),
    // Many tasks (100,000 items), one item at 20,000 positions (one task, several blocks), a tail row width.
    'embeddingBackward (hot item, 100,000 items)': (o) => {
      const idx = Int32Array.from({ length: 30000 }, (_, n) => (n % 3 ? 7 : (n * 7919) % 100000));
      return ak.embeddingBackward(rnd([30000, 19], 1), idx, 100000, { paddingIndex: 5 }, o);
    },
    // 7 blocks of 16384 elements and a partial vector; the state after the step too (m, v).
    'adamStep (param, m and v)': (o) => {
      const p = rnd([1001, 113], 1), state = { m: rnd([1001 * 113], 2, 0.1).data, v: rnd([1001 * 113], 3, 0.1).data.map((x) => x * x), step: 9 };
      const r = ak.adamStep(p, rnd([1001, 113], 4, 0.1), state, { lr: 0.01, maximize: true }, o);
      return { param: r, m: { data: state.m }, v: { data: state.v } };
    },
  };
  const flat = (r) => (r.data ? { output: r.data } : Object.fromEntries(Object.entries(r).map(([k2, t]) => [k2, t.data])));
  for (const [name, fn] of Object.entries(detCases)) {
    det(name, () => {
      const n0 = ak.getThreads();
      const res = [1, 2, 3].map((t) => {
        ak.setThreads(t);
        assert.is(ak.getThreads(), t);
        const before = ak.nativeAsyncStats();
        // 1 thread: checked against reference (identical wrong results would pass the comparison below).
        const r = flat(fn(t === 1 ? verified() : NATIVE));
        const after = ak.nativeAsyncStats();
        if (t > 1) assert.ok(after.regions - after.inlineRegions > before.regions - before.inlineRegions, `${t} threads: a parallel region ran on the pool`);
        return r;
      });
      ak.setThreads(n0);
      for (const key of Object.keys(res[0])) {
        bitsEqual(res[1][key], res[0][key], `${name} ${key}: 2 vs 1 threads`);
        bitsEqual(res[2][key], res[0][key], `${name} ${key}: 3 vs 1 threads`);
      }
    });
  }
  det.run();

  // ------------------------------------------------------------------------------------------
  // ------------------------------------------------------------------------------------------
  const train = suite('native · adamStep in place and embeddingBackward in the addon');
  const adamArgs = (n, inPlace, seed = 1) => {
    const r = (sd, sc = 1) => rnd([n], sd, sc).data;
    return { param: r(seed), grad: r(seed + 1, 0.1), m: r(seed + 2, 0.01), v: r(seed + 3, 0.01).map((x) => x * x), rows: 1, cols: n, step: 4, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maximize: false, inPlace };
  };
  train('sync in place writes the caller\'s arrays and gives the bits of the out-of-place call', () => {
    const fresh = addon.adamStep(adamArgs(70001, false));
    const a = adamArgs(70001, true);
    const r = addon.adamStep(a);
    assert.ok(r.param === a.param && r.m === a.m && r.v === a.v, 'the results are the input arrays');
    for (const k of ['param', 'm', 'v']) bitsEqual(a[k], fresh[k], `in place ${k}`);
    const untouched = adamArgs(70001, false);
    addon.adamStep(untouched);
    bitsEqual(untouched.param, adamArgs(70001, false).param, 'inPlace false leaves param unchanged');
  });
  train('async in place computes on copies and writes them back when done', async () => {
    const want = addon.adamStep(adamArgs(50000, false));
    const a = adamArgs(50000, true);
    const before = a.param.slice();
    const p = addon.adamStepAsync(a);
    a.grad.fill(NaN); // after the call was made: the kernel reads its own copy
    const r = await p;
    assert.ok(r.param === a.param && r.m === a.m && r.v === a.v);
    for (const k of ['param', 'm', 'v']) bitsEqual(a[k], want[k], `async in place ${k}`);
    assert.ok(before[0] !== a.param[0], 'param changed');
  });
  train('async in place with an array detached in flight: rejected, none of the arrays written', async () => {
    const a = adamArgs(1000, true);
    const m0 = a.m.slice();
    const p = addon.adamStepAsync(a);
    structuredClone(a.v.buffer, { transfer: [a.v.buffer] });
    let err = null;
    await p.catch((e) => (err = e));
    assert.instance(err, RangeError);
    assert.match(err.message, /adamStep: v: /);
    bitsEqual(a.m, m0, 'm not written');
  });
  train('the addon refuses overlapping arrays and out-of-range hyperparameters', () => {
    const a = adamArgs(8, true);
    const cases = [
      { ...a, m: a.param },
      (() => { const buf = new Float32Array(12); return { ...a, grad: buf.subarray(0, 8), v: buf.subarray(4, 12) }; })(),
      { ...a, beta1: 1 },
      { ...a, beta2: -0.5 },
      { ...a, lr: -1 },
      { ...a, eps: NaN },
      { ...a, step: 0 },
      { ...a, inPlace: 1 },
      { ...a, maximize: undefined },
      { ...a, m: new Float32Array(7) },
      { ...a, rows: 2 ** 31, cols: 2 },
    ];
    for (const c of cases) {
      let err = null;
      try {
        addon.adamStep(c);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof TypeError || err instanceof RangeError, `refused: ${err}`);
    }
    const e = { dOut: new Float32Array(6), indices: Int32Array.of(0, 1, 2), N: 3, E: 2, numItems: 3, paddingIndex: -1 };
    for (const c of [{ ...e, indices: Int32Array.of(0, 3, 1) }, { ...e, indices: Int32Array.of(0, -1, 1) }, { ...e, paddingIndex: 3 }, { ...e, numItems: 0 }, { ...e, E: 3 }, { ...e, out: e.dOut }, { ...e, indices: new Float32Array(3) }]) {
      let err = null;
      try {
        addon.embeddingBackward(c);
      } catch (x) {
        err = x;
      }
      assert.ok(err instanceof TypeError || err instanceof RangeError, `embeddingBackward refused: ${err}`);
    }
  });
  train('adamStep through the API: in place (same array, step incremented), verify and async give the same bits', async () => {
    const mk = () => ({ p: rnd([300, 33], 5), g: rnd([300, 33], 6, 0.1), s: ak.adamState(rnd([300, 33], 5)) });
    const a = mk(), b = mk(), c = mk();
    const ra = ak.adamStep(a.p, a.g, a.s, { lr: 0.1 }, NATIVE);
    assert.ok(ra.data === a.p.data, 'returns the caller\'s param array');
    assert.is(a.s.step, 1);
    const o = verified();
    ak.adamStep(b.p, b.g, b.s, { lr: 0.1 }, o);
    assert.ok(o.report.passed, 'verified against reference');
    await ak.adamStepAsync(c.p, c.g, c.s, { lr: 0.1 }, NATIVE);
    for (const [x, what] of [[b, 'verify'], [c, 'async']]) {
      bitsEqual(x.p.data, a.p.data, `${what} param`);
      bitsEqual(x.s.m, a.s.m, `${what} m`);
      bitsEqual(x.s.v, a.s.v, `${what} v`);
      assert.is(x.s.step, 1);
    }
  });
  train('empty calls: E = 0, no positions, no parameters', () => {
    const e0 = ak.embeddingBackward({ data: new Float32Array(0), shape: [6, 0] }, Int32Array.of(0, 1, 1, 0, 2, 2), 3, {}, NATIVE);
    assert.equal(e0.shape, [3, 0]);
    assert.is(e0.data.length, 0);
    const n0 = ak.embeddingBackward({ data: new Float32Array(0), shape: [0, 4] }, new Int32Array(0), 2, {}, NATIVE);
    assert.equal(Array.from(n0.data), new Array(8).fill(0));
    const s = { m: new Float32Array(0), v: new Float32Array(0), step: 3 };
    const p = ak.adamStep({ data: new Float32Array(0), shape: [0, 3] }, { data: new Float32Array(0), shape: [0, 3] }, s, {}, NATIVE);
    assert.is(p.data.length, 0);
    assert.is(s.step, 4, 'a step with no parameters still counts');
  });
  train('embeddingBackward writes every element of options.out', () => {
    const out = new Float32Array(50 * 6).fill(NaN);
    const d = rnd([40, 6], 7), idx = Int32Array.from({ length: 40 }, (_, n) => (n * 13) % 50);
    const r = ak.embeddingBackward(d, idx, 50, { out, paddingIndex: 0 }, NATIVE);
    assert.ok(r.data === out);
    bitsEqual(out, ak.embeddingBackward(d, idx, 50, { paddingIndex: 0 }, NATIVE).data, 'out vs a new array');
  });
  train.run();

  const sums = suite('native · backward ops: verify with a row sample compares the sums over rows whole');
  sums('layerNormBackward and linearBackward: sampled dx rows, every dGamma / dBeta / dW / db element', () => {
    const reports = [];
    const o = { backend: 'native', verify: { rows: 3 }, onReport: (r) => reports.push(r) };
    const x = rnd([500, 24], 1);
    ak.layerNormBackward(rnd([500, 24], 2), x, rnd([24], 3), ak.layerNorm(x, null, null, { returnStats: true }, NATIVE), o);
    ak.linearBackward(rnd([500, 7], 4), rnd([500, 24], 5), rnd([24, 7], 6), o);
    assert.is(reports.length, 2);
    for (const r of reports) assert.ok(r.verify.passed && r.verify.rowsChecked === 3, `${r.op}: 3 rows checked`);
    assert.is(reports[0].verify.elementsChecked, 3 * 24 + 24 + 24, 'layerNormBackward: 3 rows of dx, all of dGamma and dBeta');
    assert.is(reports[1].verify.elementsChecked, 3 * 24 + 24 * 7 + 7, 'linearBackward: 3 rows of dx, all of dW and db');
  });
  sums.run();

  // ------------------------------------------------------------------------------------------
  const asy = suite('native · async');
  asy('the async twin equals the sync call', async () => {
    const args = [rnd([2, 3, 100, 32], 1), rnd([2, 3, 120, 32], 2), rnd([2, 3, 120, 32], 3), { causal: true, returnLse: true }];
    const s = sdpa(...args, NATIVE);
    const a = await sdpaAsync(...args, { backend: 'native', verify: true });
    bitsEqual(a.output.data, s.output.data, 'output');
    bitsEqual(a.lse.data, s.lse.data, 'lse');
    const sm = await ak.softmaxAsync(rnd([30, 40], 4), {}, NATIVE);
    bitsEqual(sm.data, ak.softmax(rnd([30, 40], 4), {}, NATIVE).data, 'softmax');
  });
  asy('100 concurrent calls are all correct and never run more than the limit at once', async () => {
    const inputs = Array.from({ length: 100 }, (_, i) => [rnd([1, 2, 20 + (i % 7), 16], i), rnd([1, 2, 50, 16], 1000 + i), rnd([1, 2, 50, 16], 2000 + i)]);
    const want = inputs.map((x) => sdpa(...x, {}, NATIVE).data);
    let maxRunning = 0;
    const limit = addon.asyncStats().limit;
    const before = addon.asyncStats().completed;
    const ps = inputs.map((x) => sdpaAsync(...x, {}, NATIVE));
    const st = addon.asyncStats();
    maxRunning = Math.max(maxRunning, st.running);
    assert.ok(st.running <= limit, `running ${st.running} <= limit ${limit}`);
    assert.ok(st.queued + st.running >= 90, `most calls are queued or running (${st.queued} queued)`);
    const got = await Promise.all(ps);
    for (let i = 0; i < 100; i++) bitsEqual(got[i].data, want[i], `call ${i}`);
    const after = addon.asyncStats();
    assert.is(after.completed - before, 100);
    assert.is(after.running, 0);
    assert.is(after.queued, 0);
  });
  asy('bad arguments reject the async call (no throw, no crash)', async () => {
    let err = null;
    await addon.sdpaAsync({ q: new Float32Array(3) }).catch((e) => (err = e));
    assert.ok(err instanceof Error, 'rejected');
  });
  asy.run();

  // ------------------------------------------------------------------------------------------
  const bad = suite('native · the addon checks every argument itself');
  const base = () => ({
    q: new Float32Array(2 * 3 * 4),
    k: new Float32Array(2 * 5 * 4),
    v: new Float32Array(2 * 5 * 4),
    B: 1, Hq: 2, Hkv: 2, L: 3, S: 5, D: 4, Dv: 4,
    scale: 0.5, causal: false, mask: null, bias: null, keyLengths: null, returnWeights: false, returnLse: false,
    offsets: null, windowLeft: -1, windowRight: -1, softcap: 0, returnLogits: false, layout: 'bhld',
  });
  const cases = {
    'no argument': () => addon.sdpa(),
    'a number': () => addon.sdpa(3),
    'q too short': () => addon.sdpa({ ...base(), q: new Float32Array(5) }),
    'q as Float64Array': () => addon.sdpa({ ...base(), q: new Float64Array(24) }),
    'q as plain array': () => addon.sdpa({ ...base(), q: Array(24).fill(0) }),
    'k length mismatched with S': () => addon.sdpa({ ...base(), S: 6 }),
    'B as string': () => addon.sdpa({ ...base(), B: '1' }),
    'fractional L': () => addon.sdpa({ ...base(), L: 2.5 }),
    'NaN D': () => addon.sdpa({ ...base(), D: NaN }),
    'zero heads': () => addon.sdpa({ ...base(), Hq: 0 }),
    'Hq not a multiple of Hkv': () => addon.sdpa({ ...base(), Hq: 3, Hkv: 2, q: new Float32Array(36) }),
    'sizes that overflow': () => addon.sdpa({ ...base(), B: 2 ** 31 - 1, Hq: 2 ** 31 - 1, Hkv: 2 ** 31 - 1, L: 2 ** 31 - 1 }),
    'infinite scale': () => addon.sdpa({ ...base(), scale: Infinity }),
    'causal as number': () => addon.sdpa({ ...base(), causal: 1 }),
    'mask strides reaching past the data': () => addon.sdpa({ ...base(), mask: { data: new Uint8Array(5), strides: [0, 0, 1, 1] } }),
    'mask with 3 strides': () => addon.sdpa({ ...base(), mask: { data: new Uint8Array(5), strides: [0, 0, 1] } }),
    'negative mask stride': () => addon.sdpa({ ...base(), mask: { data: new Uint8Array(50), strides: [0, 0, -1, 1] } }),
    'bias of the wrong type': () => addon.sdpa({ ...base(), bias: { data: new Uint8Array(5), strides: [0, 0, 0, 1] } }),
    'keyLengths out of range': () => addon.sdpa({ ...base(), keyLengths: new Int32Array([6]) }),
    'keyLengths negative': () => addon.sdpa({ ...base(), keyLengths: new Int32Array([-1]) }),
    'keyLengths too long': () => addon.sdpa({ ...base(), keyLengths: new Int32Array([1, 2]) }),
    'offsets of the wrong length': () => addon.sdpa({ ...base(), offsets: new Int32Array(2) }),
    'offsets as Float32Array': () => addon.sdpa({ ...base(), offsets: new Float32Array(1) }),
    'windowLeft below -1': () => addon.sdpa({ ...base(), windowLeft: -2 }),
    'fractional windowRight': () => addon.sdpa({ ...base(), windowRight: 1.5 }),
    'windowLeft missing': () => addon.sdpa({ ...base(), windowLeft: undefined }),
    'negative softcap': () => addon.sdpa({ ...base(), softcap: -1 }),
    'NaN softcap': () => addon.sdpa({ ...base(), softcap: NaN }),
    'softcap that rounds to 0 in float32': () => addon.sdpa({ ...base(), softcap: 1e-50 }),
    'unknown layout': () => addon.sdpa({ ...base(), layout: 'bshd' }),
    'returnLogits as number': () => addon.sdpa({ ...base(), returnLogits: 1 }),
    'logits larger than memory can hold': () => addon.sdpa({ ...base(), returnLogits: true, S: 2 ** 31 - 1, k: new Float32Array(0) }),
    'weights larger than memory can hold': () => addon.sdpa({ ...base(), returnWeights: true, S: 2 ** 31 - 1, k: new Float32Array(0) }),
    'softmax shape disagreeing with rows': () => addon.softmax({ x: new Float32Array(6), shape: [2, 3], rows: 3, cols: 3, mask: null }),
    'softmax shape with 9 axes': () => addon.softmax({ x: new Float32Array(1), shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], rows: 1, cols: 1, mask: null }),
    'layerNorm negative eps': () => addon.layerNorm({ x: new Float32Array(6), rows: 2, cols: 3, gamma: null, beta: null, eps: -1 }),
    'layerNorm gamma too short': () => addon.layerNorm({ x: new Float32Array(6), rows: 2, cols: 3, gamma: new Float32Array(2), beta: null, eps: 1e-5 }),
    'layerNorm returnStats missing': () => addon.layerNorm({ x: new Float32Array(6), rows: 2, cols: 3, gamma: null, beta: null, eps: 1e-5 }),
    'layerNorm returnStats as number': () => addon.layerNorm({ x: new Float32Array(6), rows: 2, cols: 3, gamma: null, beta: null, eps: 1e-5, returnStats: 1 }),
    'topK largest missing': () => addon.topK({ users: new Float32Array(6), items: new Float32Array(12), B: 2, N: 4, D: 3, k: 2, exclude: null }),
    'topK largest as string': () => addon.topK({ users: new Float32Array(6), items: new Float32Array(12), B: 2, N: 4, D: 3, k: 2, exclude: null, largest: 'false' }),
    'gelu unknown approximation': () => addon.gelu({ x: new Float32Array(6), rows: 2, cols: 3, approximate: 'fast' }),
    'a getter that throws': () => addon.sdpa({ ...base(), get B() { throw new Error('boom'); } }),
    'out of the wrong length': () => addon.sdpa({ ...base(), out: new Float32Array(23) }),
    'out as Float64Array': () => addon.sdpa({ ...base(), out: new Float64Array(24) }),
    'out aliasing q': () => { const a = base(); return addon.sdpa({ ...a, out: a.q }); },
    'out overlapping k': () => { const buf = new Float32Array(60); return addon.sdpa({ ...base(), k: buf.subarray(0, 40), out: buf.subarray(36, 60) }); },
    'out overlapping mask data': () => { const buf = new Uint8Array(200); return addon.sdpa({ ...base(), mask: { data: buf.subarray(0, 5), strides: [0, 0, 0, 1] }, out: new Float32Array(buf.buffer, 0, 24) }); },
  };
  bad('the attention-limit fields: each error names its field', () => {
    const named = [
      [{ offsets: new Int32Array(2) }, /offsets/],
      [{ offsets: new Float32Array(1) }, /offsets/],
      [{ windowLeft: -2 }, /windowLeft/],
      [{ windowRight: 1.5 }, /windowRight/],
      [{ windowRight: 2 ** 31 }, /windowRight/],
      [{ softcap: -1 }, /softcap/],
      [{ softcap: Infinity }, /softcap/],
      [{ softcap: 3.5e38 }, /softcap/],
      [{ softcap: 1e-11 }, /softcap/],
      [{ layout: 'bshd' }, /layout/],
      [{ returnLogits: 'yes' }, /returnLogits/],
    ];
    for (const [field, re] of named) {
      let err = null;
      try {
        addon.sdpa({ ...base(), ...field });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof TypeError || err instanceof RangeError, `${JSON.stringify(Object.keys(field))}: a TypeError or RangeError`);
      assert.match(err.message, re);
    }
    // The fields are read, not ignored: the same call with valid limits runs.
    const r = addon.sdpa({ ...base(), causal: true, offsets: new Int32Array([-1]), windowLeft: 1, windowRight: 0, softcap: 2, returnLogits: true, layout: 'blhd' });
    assert.is(r.logits.length, 2 * 3 * 5);
    assert.is(r.logits[0], -Infinity, 'query 0 at position -1 sees nothing');
  });
  for (const [name, fn] of Object.entries(cases)) {
    bad(name, () => {
      let err = null;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof Error, 'threw a JS error');
      assert.ok(err instanceof TypeError || err instanceof RangeError || /boom/.test(err.message), `TypeError or RangeError: ${err && err.constructor.name}: ${err && err.message}`);
    });
  }
  bad('out: the addon writes into the caller\'s buffer and returns it', () => {
    const a = base();
    for (let i = 0; i < a.q.length; i++) a.q[i] = Math.sin(i);
    for (let i = 0; i < a.k.length; i++) a.k[i] = Math.cos(i);
    for (let i = 0; i < a.v.length; i++) a.v[i] = Math.sin(3 * i);
    const fresh = addon.sdpa(a).output;
    const out = new Float32Array(24).fill(NaN);
    const r = addon.sdpa({ ...a, out });
    assert.is(r.output, out);
    assert.equal(Array.from(out), Array.from(fresh));
  });
  bad('layerNorm returnStats and topK largest: the addon\'s named outputs', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 5, 5, 5]);
    const r = addon.layerNorm({ x, rows: 2, cols: 4, gamma: null, beta: null, eps: 0, returnStats: true });
    assert.equal(Object.keys(r).sort(), ['invStd', 'mean', 'output']);
    assert.equal(Array.from(r.mean), [2.5, 5]);
    assert.is(r.invStd[0], Math.fround(1 / Math.sqrt(1.25)));
    assert.is(r.invStd[1], Infinity);
    assert.ok(ArrayBuffer.isView(addon.layerNorm({ x, rows: 2, cols: 4, gamma: null, beta: null, eps: 0, returnStats: false })), 'without stats: the array itself');
    const t = addon.topK({ users: new Float32Array([1]), items: new Float32Array([3, NaN, 1, 2]), B: 1, N: 4, D: 1, k: 4, exclude: [new Int32Array([3])], largest: false });
    assert.equal(Array.from(t.indices), [2, 0, 1, -1]);
    assert.ok(t.scores[0] === 1 && t.scores[1] === 3 && Number.isNaN(t.scores[2]) && t.scores[3] === Infinity);
  });
  bad('a detached input buffer is refused', () => {
    const a = base();
    const buf = a.q.buffer;
    structuredClone(buf, { transfer: [buf] });
    assert.throws(() => addon.sdpa(a), /elements/);
  });
  bad('still alive and correct after all of that', () => {
    const o = verified();
    sdpa(rnd([1, 1, 4, 4], 1), rnd([1, 1, 4, 4], 2), rnd([1, 1, 4, 4], 3), {}, o);
    assert.ok(o.report.passed);
  });
  bad.run();

  // ------------------------------------------------------------------------------------------
  const env = suite('native · environment');
  const child = (envExtra, code) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ...envExtra }, encoding: 'utf8', timeout: 60000 });
  env('ATTNKIT_ISA above what the CPU has (or invalid): unavailable with the reason, not a crash', () => {
    const code = `import * as ak from 'attnkit';
      const b = ak.backends().find((x) => x.name === 'native');
      let threw = '';
      try { ak.sdpa(ak.random([1,1,2,2]), ak.random([1,1,2,2]), ak.random([1,1,2,2]), {}, { backend: 'native' }); } catch (e) { threw = e.name; }
      const auto = []; ak.sdpa(ak.random([1,1,2,2]), ak.random([1,1,2,2]), ak.random([1,1,2,2]), {}, { onReport: (r) => auto.push(r.backend) });
      console.log(JSON.stringify({ available: b.available, reason: b.reason, fix: b.fix, threw, auto: auto[0] }));`;
    const r = child({ ATTNKIT_ISA: 'avx9000' }, code);
    assert.is(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.is(o.available, false);
    assert.match(o.reason, /ATTNKIT_ISA/);
    assert.ok(o.fix);
    assert.is(o.threw, 'BackendUnavailableError');
    assert.is.not(o.auto, 'native');
  });
  env('a missing binary: unavailable, with what was tried and the fix command', () => {
    const code = `import * as ak from 'attnkit';
      const b = ak.backends().find((x) => x.name === 'native');
      console.log(JSON.stringify({ available: b.available, reason: b.reason, fix: b.fix }));`;
    const r = child({ ATTNKIT_NATIVE_PATH: '/nonexistent/attnkit.node' }, code);
    assert.is(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.is(o.available, false);
    assert.match(o.reason, /nonexistent/);
    assert.match(o.fix, /ATTNKIT_NATIVE_PATH/);
  });
  env('scratch kept between calls (ATTNKIT_SCRATCH_MB): bit-identical to none kept, reused across sizes, bounded, async too', () => {
    // The ops whose drivers keep intermediate rows (native/src/scratch.cc), each at its quick and
    // its bench size, called big, small, big so a kept block serves a smaller call and a larger
    // one grows; then the same calls async (libuv's threads keep their own blocks).
    const code = `import * as ak from 'attnkit';
      import { createHash } from 'crypto';
      const outs = [];
      const hex = (a) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
      for (const op of ['transformerEncoderLayer', 'multiHeadAttention', 'additiveAttention']) {
        const big = ak.OPS[op].cases.bench(false)[0].make().args, small = ak.OPS[op].cases.bench(true)[0].make().args;
        for (const args of [big, small, big]) outs.push(op + ' ' + hex(ak.OPS[op].call(args, { backend: 'native' }).data));
        const kept = ak.nativeInfo().scratch;
        outs.push(op + ' async ' + hex((await ak.OPS[op].callAsync(small, { backend: 'native' })).data));
        outs.push(op + ' kept ' + (kept.keptBytes <= kept.boundBytes) + ' ' + (kept.keptBytes > 0));
      }
      console.log(JSON.stringify({ outs, bound: ak.nativeInfo().scratch.boundBytes }));`;
    const runs = [{}, { ATTNKIT_SCRATCH_MB: '0' }, { ATTNKIT_SCRATCH_MB: '8' }].map((e) => {
      const r = child(e, code);
      assert.is(r.status, 0, `${JSON.stringify(e)}: exit ${r.status} ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    });
    assert.is(runs[0].bound, 256 * 2 ** 20, 'default bound 256 MiB');
    assert.is(runs[1].bound, 0);
    assert.is(runs[2].bound, 8 * 2 ** 20);
    const results = (r) => r.outs.filter((o) => !o.includes(' kept '));
    assert.equal(results(runs[1]), results(runs[0]), 'nothing kept: the same bits');
    assert.equal(results(runs[2]), results(runs[0]), 'an 8 MiB bound: the same bits');
    for (const op of ['transformerEncoderLayer', 'multiHeadAttention', 'additiveAttention']) {
      assert.ok(runs[0].outs.includes(`${op} kept true true`), `${op}: blocks kept, within the bound`);
      assert.ok(runs[1].outs.includes(`${op} kept true false`), `${op}: ATTNKIT_SCRATCH_MB=0 keeps nothing`);
    }
    assert.ok(runs[2].outs.every((o) => !o.includes(' kept ') || o.includes(' kept true')), 'an 8 MiB bound is kept to');
  });
  env('worker_threads can load the addon too (context-aware module)', () => {
    const code = `import { Worker } from 'worker_threads';
      const src = "import * as ak from '" + import.meta.resolve('attnkit') + "'; import { parentPort } from 'worker_threads'; const r = ak.sdpa(ak.random([1,1,3,4]), ak.random([1,1,5,4]), ak.random([1,1,5,4]), {}, { backend: 'native' }); parentPort.postMessage(r.data.length);";
      const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(src)));
      w.on('message', (m) => { console.log('len', m); w.terminate(); });`;
    const r = child({}, code);
    assert.is(r.status, 0, `exit ${r.status} signal ${r.signal} ${r.error ?? ''} ${r.stderr}`);
    assert.match(r.stdout, /len 12/);
  });
  env.run();
}
