#!/usr/bin/env node
// Long hostile-input fuzz run (the CI budget of test/fuzz.test.mjs is too small to meet rare
// crashes): every op each backend registers, fast-check with a fixed
// seed, each backend in its own child process so a crash is counted (with the case that was
// running) instead of ending the run. Prints, per backend: calls, correct results, typed errors,
// failures (untyped errors, wrong results, accepted invalid input) and crashes.
//
// Usage: node scripts/fuzz-long.mjs [--count 100000] [--backends reference,native,gpu]
//                                   [--raw 100000] [--seed 20261122] [--json]
//   --count  public-API calls per backend (default 100000)
//   --raw    calls of the native addon's raw functions with corrupted kernel structs (default = count)
// gpu runs under xvfb-run when no DISPLAY is set. Exit status 1 on any failure or crash.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const argv = process.argv.slice(2);
const arg = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};

async function child(backend, count, seed, progressFile) {
  const core = await import('../test/fuzz/index.mjs');
  const ak = await import('attnkit');
  const fd = fs.openSync(progressFile, 'w');
  let n = 0;
  const onCase = (recipe) => {
    n++;
    // The case about to run, so a crash can be replayed (overwritten in place: cheap).
    const line = Buffer.from(`${JSON.stringify(recipe, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))}\n`);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, line, 0, line.length, 0);
  };
  const t0 = Date.now();
  let stats;
  if (backend === 'native-raw') {
    const { loadAddon } = createRequire(import.meta.url)('../dist/cjs/backends/native/loader.js');
    const r = loadAddon();
    if (!r.addon) throw new Error(`native addon unavailable: ${r.reason}`);
    const info = ak.backends().find((b) => b.name === 'native');
    stats = await core.fuzzRaw(r.addon, info.ops, { numRuns: count, seed, onCase });
  } else {
    const info = ak.backends().find((b) => b.name === backend);
    if (!info || !info.available) throw new Error(`backend ${backend} unavailable: ${info?.reason}`);
    stats = await core.fuzzBackend(backend, { numRuns: count, seed, onCase, small: backend === 'gpu' });
  }
  stats.seconds = (Date.now() - t0) / 1000;
  stats.progressCases = n;
  fs.closeSync(fd);
  process.stdout.write(`\nFUZZ-RESULT ${JSON.stringify(stats)}\n`);
}

function runChild(backend, count, seed) {
  const progress = path.join(os.tmpdir(), `attnkit-fuzz-${process.pid}-${backend}.json`);
  let cmd = process.execPath;
  let args = [fileURLToPath(import.meta.url), '--child', backend, '--count', String(count), '--seed', String(seed), '--progress', progress];
  if (backend === 'gpu' && !process.env.DISPLAY) {
    args = ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', cmd, ...args];
    cmd = 'xvfb-run';
  }
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const out = (r.stdout || '') + (r.stderr || '');
  const m = out.match(/^FUZZ-RESULT (.*)$/m);
  let lastCase = null;
  try {
    lastCase = fs.readFileSync(progress, 'utf8').trim();
    fs.unlinkSync(progress);
  } catch {
    /* no progress file */
  }
  if (!m || r.status !== 0) {
    return { backend, crashed: true, status: r.status, signal: r.signal, lastCase, tail: out.split('\n').slice(-40).join('\n'), seconds: (Date.now() - t0) / 1000 };
  }
  // Sanitizer reports go to stderr without necessarily killing the process: count them too.
  const sanitizer = (out.match(/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/g) || []).length;
  const linger = (out.match(/^FUZZ-LINGER (.*)$/m) || [])[1] ?? null;
  return { backend, crashed: false, sanitizer, linger, ...JSON.parse(m[1]) };
}

async function main() {
  if (argv.includes('--child')) {
    await child(arg('child'), Number(arg('count')), Number(arg('seed')), arg('progress'));
    // Something still holding the event loop open after every call settled is a defect (a leaked
    // worker ref, a never-settling native job): report it, then exit so the run can go on.
    const handles = process._getActiveHandles().filter((h) => !(h === process.stdout || h === process.stderr || h === process.stdin));
    setTimeout(() => {
      process.stdout.write(`FUZZ-LINGER ${handles.map((h) => h.constructor?.name).join(',')}\n`);
      process.exit(0);
    }, 2000).unref();
    return;
  }
  const count = Number(arg('count', '100000'));
  const seed = Number(arg('seed', '20261122'));
  const raw = Number(arg('raw', String(count)));
  const ak = await import('attnkit');
  let names = arg('backends', null)?.split(',');
  if (!names) names = ak.backends().filter((b) => b.name !== 'gpu' || process.env.DISPLAY || spawnSync('sh', ['-c', 'command -v xvfb-run']).status === 0).map((b) => b.name);
  const results = [];
  for (const b of names) {
    const n = b === 'native-raw' ? raw : count;
    process.stdout.write(`fuzz: ${b}: ${n} calls, seed ${seed} ...\n`);
    results.push(runChild(b, n, seed));
    if (b === 'native' && !names.includes('native-raw') && raw > 0) {
      process.stdout.write(`fuzz: native-raw: ${raw} calls, seed ${seed} ...\n`);
      results.push(runChild('native-raw', raw, seed));
    }
  }
  let bad = false;
  process.stdout.write('\nbackend      calls     correct   typed-err  failures  crashes  sanitizer  async   seconds\n');
  for (const r of results) {
    if (r.crashed) {
      bad = true;
      process.stdout.write(`${r.backend.padEnd(12)} CRASHED (exit ${r.status}, signal ${r.signal}) after ${r.seconds}s; last case: ${r.lastCase}\n${r.tail}\n`);
      continue;
    }
    if (r.backend === 'native-raw') {
      const fails = r.nonErrorThrows.length;
      if (fails || r.sanitizer) bad = true;
      process.stdout.write(`${r.backend.padEnd(12)} ${String(r.calls).padStart(7)}  returned ${r.returned}, threw Error ${r.threw}, threw non-Error ${fails}  crashes 0  sanitizer ${r.sanitizer}  ${r.seconds}s\n`);
      continue;
    }
    const fails = r.failures.length;
    if (fails || r.sanitizer || r.linger) bad = true;
    if (r.linger) process.stdout.write(`${r.backend}: the process did not exit by itself after the run (live handles: ${r.linger})\n`);
    process.stdout.write(`${r.backend.padEnd(12)} ${String(r.calls).padStart(7)} ${String(r.correct).padStart(10)} ${String(r.typed).padStart(10)} ${String(fails).padStart(9)} ${'0'.padStart(8)} ${String(r.sanitizer).padStart(10)} ${String(r.asyncCalls).padStart(7)} ${String(r.seconds).padStart(9)}\n`);
    if (fails) {
      const kinds = {};
      for (const f of r.failures) {
        const key = `${f.what.split(':')[0]}: ${f.problem.replace(/\d+(\.\d+)?/g, '#').replace(/attnkit native \w+: [\w.]+/, 'attnkit native <op>: <field>').slice(0, 110)}`;
        (kinds[key] ??= []).push(f);
      }
      for (const [k, list] of Object.entries(kinds)) process.stdout.write(`    ${String(list.length).padStart(6)} x ${k}\n        e.g. ${JSON.stringify({ ...list[0], stack: undefined })}\n`);
    }
  }
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
  process.stdout.write(bad ? '\nfuzz: FAILED\n' : '\nfuzz: OK (0 crashes, 0 untyped errors, 0 wrong results)\n');
  process.exit(bad ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
