// The CLI: info, verify (and that it fails loudly on a planted error), bench --json and --report.
// Smoke only: no timing assertions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const cli = (args, extra = []) => spawnSync(process.execPath, [...extra, 'bin/attnkit.js', ...args], { encoding: 'utf8', env: { ...process.env, ATTNKIT_NO_XVFB: '1' }, maxBuffer: 64 << 20 });

test('info --json lists every backend with availability', () => {
  const r = cli(['info', '--json']);
  assert.is(r.status, 0, r.stderr);
  const facts = JSON.parse(r.stdout);
  const names = facts.backends.map((b) => b.name);
  for (const n of ['reference', 'native', 'gpu']) assert.ok(names.includes(n), `${n} listed`);
  for (const b of facts.backends) assert.ok(b.available || (b.reason && b.reason.length > 0), `${b.name}: available or a reason`);
  assert.ok(facts.versions.node && facts.cpu);
});

test('verify passes on native and prints one table; reference is never counted (it would be compared with itself)', () => {
  const r = cli(['verify', '--quick', '--backend', 'native']);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /op\s+backend\s+case\s+max abs/);
  assert.match(r.stdout, /verify: \d+ passed, 0 failed over 1 backend/);
  assert.not.match(r.stdout, /\sreference\s/);
  const ref = cli(['verify', '--quick', '--backend', 'reference']);
  assert.is(ref.status, 2, 'verify --backend reference is a usage error');
  assert.match(ref.stderr, /independent float64 oracles/);
});

test('verify fails loudly (exit 1, FAIL rows naming the error) on a backend with a planted error', () => {
  const r = cli(['verify', '--quick', '--backend', 'broken', '--op', 'sdpa'], ['-r', './test/fixtures/broken-backend.cjs']);
  assert.is(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL sdpa on backend 'broken' differs from reference/);
  assert.match(r.stdout, /verify: \d+ passed, [1-9]\d* failed/);
});

test('bench --quick --json gives timed rows with GFLOP/s and errors; --report writes an HTML chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attnkit-'));
  const report = join(dir, 'report.html');
  const r = cli(['bench', '--quick', '--op', 'sdpa,softmax', '--backend', 'reference', '--no-peers', '--json', '--report', report]);
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  const timed = res.rows.filter((x) => x.median !== undefined);
  assert.ok(timed.length >= 2, 'timed rows');
  for (const row of timed) {
    assert.ok(row.median > 0 && row.gflops > 0, `${row.op} ${row.shape}: time and GFLOP/s`);
    // A scenario row's error is the difference between its two forms (jagged vs padded), not reference vs itself.
    if (!row.scenario) assert.is(row.maxAbs, undefined, 'reference has no error of its own to show (no literal 0)');
  }
  assert.match(r.stderr, /\[\d+\/\d+\] sdpa/, 'progress lines');
  assert.ok(existsSync(report));
  const html = readFileSync(report, 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /GFLOP\/s/);
});

test('bench: each native-vs-onnxruntime duel runs in a fresh child process (bench/duel.js) and its rows come back whole: both contenders, errors, page faults and CPU per call, the child\'s small heap', () => {
  const r = cli(['bench', '--quick', '--op', 'linear', '--backend', 'native,peers', '--no-serving', '--json']);
  assert.is(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout).rows.filter((x) => x.op === 'linear' && x.median !== undefined && !x.scenario);
  const native = rows.find((x) => x.backend === 'native');
  const ort = rows.find((x) => x.backend.startsWith('ort'));
  assert.ok(native && ort, `native and onnxruntime rows: ${rows.map((x) => x.backend)}`);
  for (const x of [native, ort]) {
    assert.ok(x.median > 0 && x.roundMedians.length >= 1, `${x.backend}: timed in rounds`);
    assert.ok(Number.isFinite(x.maxAbs) && x.maxAbs < 1e-3, `${x.backend}: error against reference ${x.maxAbs}`);
    assert.ok(x.faultsPerCall >= 0 && x.userMsPerCall > 0 && x.sysMsPerCall >= 0, `${x.backend}: faults and CPU per call`);
    // A fresh process: attnkit + onnxruntime + the case, not the bench's long-lived heap.
    assert.ok(x.heapUsedMB > 0 && x.heapUsedMB < 64, `${x.backend}: heap ${x.heapUsedMB} MB`);
  }
});

test('bench/duel.js: a NaN or Inf error figure crosses the process boundary as itself (JSON has neither), and the children get fixed malloc thresholds unless the user set their own', async () => {
  const { encode, decode } = await import('../bench/duel.js').then((m) => m.default ?? m);
  const back = JSON.parse(JSON.stringify({ maxAbs: NaN, xs: [Infinity, -Infinity, 1.5], note: 'x' }, encode), decode);
  assert.ok(Number.isNaN(back.maxAbs));
  assert.equal(back.xs, [Infinity, -Infinity, 1.5]);
  assert.is(back.note, 'x');
  const { benchChildEnv, BENCH_GLIBC_TUNABLES } = await import('../bench/timing.js').then((m) => m.default ?? m);
  const saved = { t: process.env.GLIBC_TUNABLES, m: process.env.ATTNKIT_BENCH_MALLOC };
  try {
    delete process.env.GLIBC_TUNABLES;
    delete process.env.ATTNKIT_BENCH_MALLOC;
    if (process.platform === 'linux') assert.is(benchChildEnv().GLIBC_TUNABLES, BENCH_GLIBC_TUNABLES);
    process.env.GLIBC_TUNABLES = 'glibc.malloc.arena_max=1';
    assert.is(benchChildEnv().GLIBC_TUNABLES, 'glibc.malloc.arena_max=1', 'the user\'s own setting wins');
    delete process.env.GLIBC_TUNABLES;
    process.env.ATTNKIT_BENCH_MALLOC = 'default';
    assert.is(benchChildEnv().GLIBC_TUNABLES, undefined, 'ATTNKIT_BENCH_MALLOC=default leaves glibc alone');
  } finally {
    if (saved.t === undefined) delete process.env.GLIBC_TUNABLES;
    else process.env.GLIBC_TUNABLES = saved.t;
    if (saved.m === undefined) delete process.env.ATTNKIT_BENCH_MALLOC;
    else process.env.ATTNKIT_BENCH_MALLOC = saved.m;
  }
});

test('bench/duel.js: a failing duel child rejects with its error\'s message, and a child past its time limit is killed and says so', async () => {
  const { runDuelInChild } = await import('../bench/duel.js').then((m) => m.default ?? m);
  const set = { budget: 0.1, minSamples: 1, rounds: 1, duelTime: 0.05, duelWarmupRounds: 0, settleMs: 0, duelMinSamples: 1 };
  const bogus = { op: 'linear', shapeText: 'no such shape' };
  const failed = await runDuelInChild(bogus, { threads: 1, peers: false }, set, { quick: true }).then(() => null, (e) => e);
  assert.ok(failed, 'rejected');
  assert.match(failed.message, /duel child exited 1: no case linear no such shape$/);
  const killed = await runDuelInChild(bogus, { threads: 1, peers: false }, set, { quick: true, timeoutMs: 1 }).then(() => null, (e) => e);
  assert.ok(killed, 'rejected');
  assert.match(killed.message, /killed by SIGKILL/);
});

test('bench --serving: only the serving rows (concurrent async requests, attnkit native beside onnxruntime), each checked; --no-serving leaves them out', () => {
  const r = cli(['bench', '--serving', '--quick', '--op', 'transformerEncoderLayer', '--json']);
  assert.is(r.status, 0, r.stderr.slice(-2000));
  const res = JSON.parse(r.stdout);
  assert.is(res.rows.length, 0, 'no op rows under --serving');
  const rows = res.serving.rows;
  const native = rows.find((x) => x.library === 'attnkit');
  assert.ok(native, `an attnkit row (notes: ${res.serving.notes.join('; ')})`);
  assert.ok(rows.some((x) => x.library === 'onnxruntime'), `an onnxruntime row (notes: ${res.serving.notes.join('; ')})`);
  for (const x of rows) {
    assert.is(x.op, 'transformerEncoderLayer');
    assert.not.ok(x.note && /^(error|FAILS)/.test(x.note), `${x.library}: ${x.note}`);
    assert.ok(x.throughput > 0 && x.requests === 100 && x.concurrency === 100, `${x.library}: ${x.requests} requests at ${x.concurrency}, ${x.throughput} req/s`);
    assert.ok(x.p50 > 0 && x.p50 <= x.p99 && x.p99 <= x.max, `${x.library}: p50 ${x.p50} <= p99 ${x.p99} <= max ${x.max}`);
    assert.ok(x.loopDelayMaxMs > 0 && x.inflightGapMaxMs > 0, `${x.library}: event-loop figures`);
  }
  const table = cli(['bench', '--serving', '--quick', '--op', 'sdpa', '--backend', 'native']);
  assert.is(table.status, 0, table.stderr.slice(-2000));
  assert.match(table.stdout, /serving under load \(\d+ thread\(s\) for both libraries\):\nworkload\s+library\s+concurrency\s+requests\s+req\/s\s+p50 ms\s+p99 ms\s+max ms/);
  assert.match(table.stdout, /sdpa DIN-sized \(256,1,1,50,32\)\s+attnkit native\s+100\s+100\s+\d+/);
  assert.not.match(table.stdout, /\sonnxruntime ort-/, '--backend native leaves out the peers');
  const none = cli(['bench', '--quick', '--op', 'softmax', '--backend', 'native', '--no-peers', '--no-serving', '--json']);
  assert.is(none.status, 0, none.stderr.slice(-2000));
  assert.is(JSON.parse(none.stdout).serving, null);
});

test('bench --op sdpaBackward: the backward-vs-forward scenarios judge both targets (time ratio, share of the FMA peak) and the extra-memory rows measure every size', () => {
  const r = cli(['bench', '--quick', '--op', 'sdpaBackward', '--backend', 'native', '--no-peers', '--no-serving', '--json']);
  assert.is(r.status, 0, r.stderr.slice(-2000));
  const res = JSON.parse(r.stdout);
  const sc = res.scenarios.filter((s) => s.label.startsWith('sdpaBackward'));
  assert.is(sc.length, 4, 'four shapes, causal included');
  for (const s of sc) {
    assert.ok(s.withinTolerance, `${s.label}: the backward passes verify`);
    assert.is(s.target.kind, 'slowdown');
    assert.ok(Number.isFinite(s.ratio) && s.ratio > 0, `${s.label}: a ratio`);
    assert.is(s.peakTarget, 0.6);
    // The peak is measured at both ends of a native run, so the share is a number and judged.
    assert.ok(Number.isFinite(s.peakShare) && s.peakShare > 0, `${s.label}: a peak share (${s.peakShare})`);
    assert.is(s.peakMet, s.peakShare >= 0.6);
  }
  const mem = res.backwardMemory;
  assert.is(mem.sizes.map((m) => m.L).join(), '256,512,1024');
  for (const m of mem.sizes) {
    assert.ok(Number.isFinite(m.extra), `L=${m.L}: extra bytes measured`);
    // dq, dk, dv are new arrays of the call: the high-water mark must have seen them.
    assert.ok(m.hwm - m.baseline >= m.outputBytes, `L=${m.L}: VmHWM grew by at least the outputs (${m.hwm - m.baseline} < ${m.outputBytes})`);
  }
  assert.is(mem.met, mem.growth < mem.allowance);
  assert.is(res.rows.filter((x) => x.shape.startsWith('extra memory')).length, 3);
});

test('verify and bench: an unknown op or backend is a usage error (exit 2, the valid names); a named backend that is unavailable fails with its reason', () => {
  for (const cmd of ['verify', 'bench']) {
    const op = cli([cmd, '--quick', '--op', 'sdpaa', '--no-peers']);
    assert.is(op.status, 2, `${cmd} --op sdpaa: ${op.stdout}${op.stderr}`);
    assert.match(op.stderr, /unknown op 'sdpaa' in --op; the ops: sdpa, /);
    const be = cli([cmd, '--quick', '--backend', 'nativ', '--no-peers']);
    assert.is(be.status, 2, `${cmd} --backend nativ`);
    assert.match(be.stderr, /unknown backend 'nativ' in --backend; the backends: reference, /);
    // gpu without a display (ATTNKIT_NO_XVFB, DISPLAY unset): unavailable, so nothing could be checked
    const gpu = spawnSync(process.execPath, ['bin/attnkit.js', cmd, '--quick', '--backend', 'gpu', '--op', 'softmax', '--no-peers'], { encoding: 'utf8', env: { ...process.env, ATTNKIT_NO_XVFB: '1', DISPLAY: '' } });
    assert.is(gpu.status, 1, `${cmd} --backend gpu without a display: ${gpu.stdout}${gpu.stderr}`);
    assert.match(gpu.stderr, /backend 'gpu' is unavailable: .+ — fix: /);
    assert.not.match(gpu.stdout, /0 passed, 0 failed/);
  }
});

test('bench --rounds: an integer from 1 to 100, anything else a usage error naming the flag', () => {
  for (const bad of ['0', '101', '2.5', 'x']) {
    const r = cli(['bench', '--quick', '--op', 'softmax', '--rounds', bad]);
    assert.is(r.status, 2, `--rounds ${bad}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--rounds takes an integer from 1 to 100, got '${bad.replace('.', '\\.')}'`));
  }
  const ok = cli(['bench', '--quick', '--op', 'softmax', '--backend', 'native,peers', '--no-tfjs', '--no-serving', '--rounds', '3', '--json']);
  assert.is(ok.status, 0, ok.stderr);
  const duel = JSON.parse(ok.stdout).rows.filter((x) => x.op === 'softmax' && x.roundMedians);
  assert.ok(duel.length >= 2, 'native and onnxruntime rows timed interleaved');
  for (const x of duel) assert.is(x.roundMedians.length, 3, `${x.backend}: one median per round`);
});

test('a machine without an ISA level says so: attnkit info lists the levels it lacks, the test summary ends naming the jobs not run', () => {
  const info = JSON.parse(cli(['info', '--json']).stdout);
  if (info.isaLevels) {
    assert.ok(info.isaLevels.some((l) => l.level === 'scalar' && l.here), 'scalar runs everywhere');
    assert.match(cli(['info']).stdout, /ISA levels: .*(NOT on this CPU, so not tested here|every one runs)/);
  }
  const r = spawnSync(process.execPath, ['test/run.js', 'native (avx512)'], { encoding: 'utf8', env: { ...process.env, ATTNKIT_TEST_NO_ISA: 'avx512' } });
  const lines = r.stdout.trim().split('\n');
  assert.match(lines.at(-3), /^NOT TESTED on this machine \(counted as skipped, not passed\): native \(avx512\): avx512 treated as absent/);
  assert.is(lines.at(-1), '0 passed, 0 failed, 1 skipped');
});

test('a fresh clone installs with plain npm ci: the repository\'s .npmrc skips onnxruntime-node\'s CUDA download; a gl that did not build ends the install with one line naming the setup script', () => {
  const cfg = spawnSync('npm', ['config', 'get', 'onnxruntime-node-install'], { encoding: 'utf8' });
  assert.is(cfg.stdout.trim(), 'skip', `npm config in the repository: ${cfg.stdout}${cfg.stderr}`);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  assert.is(pkg.scripts.install, 'node native/install.js');
  const empty = mkdtempSync(join(tmpdir(), 'attnkit-nogl-'));
  const r = spawnSync(process.execPath, ['native/install.js', empty], { encoding: 'utf8' });
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0], /gl \(headless-gl\) is not installed, so the gpu backend is unavailable: install its build packages/);
  assert.is(spawnSync(process.execPath, ['native/install.js', '.'], { encoding: 'utf8' }).stderr, '', 'silent when gl is built');
  // In a clone of this repository the line names its setup script.
  const repo = mkdtempSync(join(tmpdir(), 'attnkit-repo-'));
  mkdirSync(join(repo, 'scripts'));
  writeFileSync(join(repo, 'scripts', 'setup.sh'), '');
  assert.match(spawnSync(process.execPath, ['native/install.js', repo], { encoding: 'utf8' }).stderr, /^attnkit: gl \(headless-gl\) is not installed, so the gpu backend is unavailable: run bash scripts\/setup\.sh/);
});

test('unknown command: usage and exit 2', () => {
  const r = cli(['frobnicate']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /commands:/);
});

test.run();
