// Async lifetime and concurrency, on every available backend:
//   - in-flight async calls survive GC pressure (global.gc() in a loop while they run, inputs dropped);
//   - an input buffer detached (structuredClone transfer, postMessage transfer) or a resizable
//     input buffer shrunk while a call is in flight: a defined outcome (an AttnkitError, or the
//     result on the data as it was when the call started), never a crash or a read of freed memory;
//   - 1000 concurrent async calls of mixed ops all return correct results;
//   - the native addon used from several worker_threads at once gives correct results;
//   - the raw addon (no TypeScript in front): a getter that shrinks or transfers a buffer the
//     addon already read is a RangeError (sync) or runs on the data as read (async), and an async
//     call's inputs transferred (and collected) or shrunk in flight change nothing.
// Needs --expose-gc: re-runs itself with it when launched plainly (test/run.js runs `node <file>`).
import { requireGc } from './expose-gc.mjs';

requireGc(import.meta.url);

const { test } = await import('uvu');
const assert = await import('uvu/assert');
const ak = await import('attnkit');
const { Worker } = await import('node:worker_threads');

const gc = globalThis.gc;
const { backendWanted, toleranceOf: tolOf } = await import('./specs/util.mjs');
const { compareFlat, flatten, captureKernelArgs } = await import('./fuzz/index.mjs');
const { cloneArgs, resizableCopy: resizable, takeAway } = await import('./fuzz/support.mjs');
const { rngOf } = await import('./fuzz/support.mjs');
const avail = ak.backends().filter((b) => b.available && backendWanted(b.name));
const r = (shape, seed) => ak.random(shape, { seed });

/** Mixed op calls: `callOf(op, small)(seed)` is [op, args], a fresh random valid call of op (its descriptor's fuzz builder). */
const callOf = (op, small) => (s) => [op, ak.OPS[op].cases.random(rngOf(s), small)];
/** The fuzzer's comparison (atol + rtol·|want|, non-finite values must match exactly, topK through its scores). */
function close(op, got, want, tol, what) {
  const msg = compareFlat(op, flatten(got), flatten(want), tol);
  if (msg) assert.unreachable(`${what}: ${msg}`);
}
function expected(call) {
  const [fn, args] = call;
  // Deep copies: an op may update its arguments in place (adamStep's param and state).
  return ak.OPS[fn].call(cloneArgs(args), { backend: 'reference' });
}

for (const b of avail) {
  const name = b.name;
  const ops = new Set(b.ops);
  // gpu: the fuzzer's small sizes (llvmpipe compiles a kernel per shape)
  const calls = b.ops.map((op) => callOf(op, name === 'gpu'));
  const n = name === 'gpu' ? 60 : 300;

  test(`${name}: ${n} in-flight async calls survive gc() in a loop with their inputs dropped`, async () => {
    const wants = [];
    const promises = [];
    for (let i = 0; i < n; i++) {
      const call = calls[i % calls.length](1000 + i);
      wants.push(expected(call));
      promises.push(ak.OPS[call[0]].callAsync(call[1], { backend: name }).then((res) => ({ res, fn: call[0] })));
      // the call's inputs go out of scope here; nothing but the in-flight call holds them
    }
    let done = false;
    const all = Promise.all(promises).finally(() => { done = true; });
    let gcs = 0;
    while (!done) {
      gc();
      gcs++;
      for (let j = 0; j < 8; j++) new Float32Array(1 << 16).fill(j); // churn the heap
      await new Promise((res) => setImmediate(res));
    }
    const results = await all;
    results.forEach(({ res, fn }, i) => close(fn, res, wants[i], tolOf(name, fn), `${name} ${fn} #${i}`));
    assert.ok(gcs > 0, 'gc ran while calls were in flight');
  });

  test(`${name}: inputs detached or shrunk while a call is in flight give a typed error or the original data's result`, async () => {
    const mk = (s) => ({ q: r([1, 2, 256, 32], s), k: r([1, 2, 512, 32], s + 1), v: r([1, 2, 512, 32], s + 2) });
    const base = mk(7);
    const want = ak.sdpa(base.q, base.k, base.v, null, { backend: 'reference' });
    const outcomes = [];
    const how = ['structuredClone', 'postMessage', 'resize'];
    for (let t = 0; t < (name === 'gpu' ? 3 : 12); t++) {
      const h = how[t % how.length];
      const x = mk(7);
      if (h === 'resize') {
        // the same numbers in a resizable buffer, shrunk to nothing once the call is in flight
        const rab = new ArrayBuffer(x.k.data.byteLength, { maxByteLength: x.k.data.byteLength * 2 });
        const kd = new Float32Array(rab);
        kd.set(x.k.data);
        x.k = { data: kd, shape: x.k.shape };
      }
      if (!ops.has('sdpa')) break;
      const p = ak.sdpaAsync(x.q, x.k, x.v, null, { backend: name });
      if (h === 'structuredClone') {
        let moved = structuredClone(x.k.data.buffer, { transfer: [x.k.data.buffer] });
        new Float32Array(moved).fill(NaN);
        moved = null;
      } else if (h === 'postMessage') {
        const { port1, port2 } = new MessageChannel();
        port1.postMessage(x.v.data.buffer, [x.v.data.buffer]);
        port1.close();
        port2.close();
      } else {
        x.k.data.buffer.resize(0);
      }
      gc();
      for (let j = 0; j < 16; j++) new Float32Array(1 << 18).fill(NaN); // reuse freed memory
      gc();
      try {
        const res = await p;
        close('sdpa', res, want, tolOf(name, 'sdpa'), `${name} sdpa after ${h}`);
        outcomes.push(`${h}: result on the original data`);
      } catch (e) {
        assert.ok(e instanceof ak.AttnkitError, `${h}: expected an AttnkitError, got ${e?.name}: ${e?.message}`);
        outcomes.push(`${h}: ${e.name}`);
      }
    }
    console.log(`  ${name}: ${[...new Set(outcomes)].join('; ')}`);
  });

  const conc = name === 'gpu' ? 100 : 1000;
  test(`${name}: ${conc} concurrent async calls of mixed ops all return correct results`, async () => {
    const list = Array.from({ length: conc }, (_, i) => calls[(i * 7) % calls.length](5000 + i));
    const wants = list.map(expected);
    const results = await Promise.all(list.map(([fn, args]) => ak.OPS[fn].callAsync(args, { backend: name })));
    results.forEach((res, i) => close(list[i][0], res, wants[i], tolOf(name, list[i][0]), `${name} ${list[i][0]} #${i}`));
  });
}

const native = avail.find((b) => b.name === 'native');
if (native) {
  const { loadAddon } = (await import('node:module')).createRequire(import.meta.url)('../dist/cjs/backends/native/loader.js');
  const addon = loadAddon().addon;
  /** A raw result (one array, or an object of arrays) as plain numbers. */
  const rawFlat = (res) => (ArrayBuffer.isView(res) ? { output: Array.from(res) } : Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Array.from(v)])));
  const churn = () => {
    gc();
    for (let j = 0; j < 16; j++) new Float32Array(1 << 18).fill(NaN); // reuse freed memory
    gc();
  };
  // (op, the input taken away, the field whose getter takes it away after the addon read the input)
  const cases = [['sdpa', 'q', 'scale'], ['sdpa', 'q', 'returnLse'], ['linear', 'x', 'b'], ['topK', 'users', 'exclude']];
  const structs = new Map(captureKernelArgs(['sdpa', 'linear', 'topK'], 6).map((c) => [c.op, c.args]));

  for (const [op, victim, trigger] of cases) {
    for (const how of ['resize', 'transfer']) {
      test(`raw addon ${op}: a getter on ${trigger} that ${how}s ${victim} (already read) is a RangeError sync, the data as read async`, async () => {
        const make = () => {
          const a = cloneArgs(structs.get(op));
          a[victim] = resizable(a[victim]);
          const value = a[trigger];
          Object.defineProperty(a, trigger, { enumerable: true, get: () => (a[victim].byteLength && takeAway(a[victim], how), value) });
          return { a };
        };
        const { a } = make();
        assert.throws(() => addon[op](a), (e) => e instanceof RangeError && /resized, transferred or detached/.test(e.message), 'sync: a RangeError naming the change');
        const want = addon[op](cloneArgs(structs.get(op)));
        const { a: b } = make();
        const p = addon[`${op}Async`](b);
        churn();
        const got = await p;
        assert.equal(rawFlat(got), rawFlat(want), 'async: the result of the inputs as they were read');
      });
    }
  }

  for (const how of ['resize', 'transfer']) {
    test(`raw addon sdpaAsync: q ${how === 'resize' ? 'shrunk' : 'transferred and collected'} while the call runs: the result of q as passed`, async () => {
      const a = cloneArgs(structs.get('sdpa'));
      const want = addon.sdpa(a);
      for (let t = 0; t < 8; t++) {
        const b = cloneArgs(structs.get('sdpa'));
        b.q = resizable(b.q);
        const p = addon.sdpaAsync(b);
        takeAway(b.q, how);
        churn();
        assert.equal(rawFlat(await p), rawFlat(want));
      }
    });
  }

  test('raw addon sdpaAsync: an out array transferred while the call runs is a RangeError, nothing written', async () => {
    const a = cloneArgs(structs.get('sdpa'));
    const n = addon.sdpa(a).output.length;
    a.out = new Float32Array(n);
    const p = addon.sdpaAsync(a);
    takeAway(a.out, 'transfer');
    churn();
    await p.then(
      () => assert.unreachable('resolved'),
      (e) => assert.ok(e instanceof RangeError && /out/.test(e.message), e.message),
    );
  });

  test('native: the addon used from 4 worker_threads at once (plus the main thread) gives correct results', async () => {
    const src = `
      const { parentPort, workerData } = require('node:worker_threads');
      const ak = require('attnkit');
      (async () => {
        let checked = 0, worst = 0;
        const r = (s, seed) => ak.random(s, { seed });
        for (let i = 0; i < 40; i++) {
          const s = workerData.seed + i;
          const q = r([1, 2, 16, 16], s), k = r([1, 2, 40, 16], s + 1), v = r([1, 2, 40, 16], s + 2);
          const got = i % 2 ? await ak.sdpaAsync(q, k, v, { causal: true }, { backend: 'native' }) : ak.sdpa(q, k, v, { causal: true }, { backend: 'native', verify: true });
          const want = ak.sdpa(q, k, v, { causal: true }, { backend: 'reference' });
          for (let j = 0; j < want.data.length; j++) worst = Math.max(worst, Math.abs(got.data[j] - want.data[j]));
          const x = r([9, 31], s), w = r([31, 17], s + 1);
          const l = await ak.linearAsync(x, w, null, { backend: 'native', verify: true });
          const t = ak.topK(r([2, 8], s), r([64, 8], s + 3), 4, null, { backend: 'native', verify: true });
          checked += 3 + (l.data.length > 0) + (t.indices.data.length > 0);
        }
        parentPort.postMessage({ checked, worst, threads: ak.getThreads() });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const workers = Array.from({ length: 4 }, (_, i) => new Worker(src, { eval: true, workerData: { seed: 100 * (i + 1) } }));
    const done = workers.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); }));
    // the main thread keeps calling meanwhile
    for (let i = 0; i < 30; i++) {
      const q = r([1, 2, 16, 16], i), k = r([1, 2, 40, 16], i + 1), v = r([1, 2, 40, 16], i + 2);
      await ak.sdpaAsync(q, k, v, null, { backend: 'native', verify: true });
    }
    const msgs = await Promise.all(done);
    await Promise.all(workers.map((w) => w.terminate()));
    for (const m of msgs) {
      assert.ok(!m.error, m.error);
      assert.ok(m.checked >= 200, `worker checked ${m.checked}`);
      assert.ok(m.worst <= 1e-4, `worker worst |native - reference| = ${m.worst}`);
    }
  });
}

test.run();
