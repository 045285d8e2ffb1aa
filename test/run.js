#!/usr/bin/env node
// The test command. Runs every test file in its own process (so each ISA level, thread count and
// GL context gets a fresh process), sums uvu's counts and ends with `N passed, N failed`.
// Usage: node test/run.js [filter]   (filter: substring of a job label)
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const jobs = require('./jobs.js');
const filter = process.argv[2];

function ciEnv() {
  // NO_COLOR: uvu's summary lines must parse (colour codes around the counts would hide a skip).
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  if (inCI) env.CI = 'true';
  else delete env.CI;
  return env;
}

function hasXvfbRun() {
  return spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).status === 0;
}

// "In CI" = CI set to anything but empty, 0 or false (runners set true, 1 or True). Children get
// it normalised to CI=true (or unset), the one value every test file checks for.
const ciRaw = (process.env.CI ?? '').trim().toLowerCase();
const inCI = ciRaw !== '' && ciRaw !== '0' && ciRaw !== 'false';
let ran = 0;
let passed = 0;
let failed = 0;
let skipped = 0;
const failedJobs = [];
const notRunHere = [];
for (const job of jobs()) {
  if (filter && !job.label.includes(filter)) continue;
  if (job.notHere) {
    // A property of this machine, not of the code (e.g. an ISA level the CPU lacks): shown, not run.
    ran++;
    skipped++;
    notRunHere.push(`${job.label}: ${job.notHere}`);
    process.stdout.write(`\n=== ${job.label}\nnot run here: ${job.notHere}\n`);
    continue;
  }
  let cmd = process.execPath;
  let args = [path.join(root, job.file)];
  if (job.display && !process.env.DISPLAY && hasXvfbRun()) {
    args = ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', cmd, ...args];
    cmd = 'xvfb-run';
  }
  ran++;
  process.stdout.write(`\n=== ${job.label}\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, env: { ...ciEnv(), ...job.env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: job.timeoutMs ?? 20 * 60 * 1000 });
  const out = ((r.stdout || '') + (r.stderr || '')).replace(/\x1b\[[0-9;]*m/g, '');
  process.stdout.write(out);
  const num = (label) => {
    const m = out.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
  };
  const total = num('Total');
  const pass = num('Passed');
  const skip = num('Skipped') ?? 0;
  if (total === null || pass === null) {
    failed += 1;
    failedJobs.push(`${job.label} (no uvu summary; exit ${r.status}${r.signal ? `, signal ${r.signal}` : ''}${r.error ? `, ${r.error.message}` : ''})`);
  } else {
    // uvu's Total already leaves skipped tests out: failures are Total - Passed.
    passed += pass;
    skipped += skip;
    const f = total - pass;
    const why = [];
    if (f > 0) why.push(`${f} failed`);
    if (r.status !== 0) why.push(`exit ${r.status}`);
    if (total === 0 && skip === 0) why.push('ran no test');
    // In CI every backend must run: a skip there is a failure, not a quiet loss of coverage.
    if (inCI && skip > 0) why.push(`${skip} skipped in CI`);
    if (why.length) {
      failed += Math.max(f, 1);
      failedJobs.push(`${job.label} (${why.join(', ')})`);
    }
  }
  process.stdout.write(`--- ${job.label}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
if (ran === 0) {
  failed += 1;
  failedJobs.push(`no job matches the filter '${filter}'`);
}
if (failedJobs.length) process.stdout.write(`\nFailed: ${failedJobs.join('; ')}\n`);
// A green run on a machine without an ISA level has not tested that level: say so at the end.
if (notRunHere.length) process.stdout.write(`\nNOT TESTED on this machine (counted as skipped, not passed): ${notRunHere.join('; ')}\n`);
else process.stdout.write('\nEvery selected job ran on this machine (every ISA level included).\n');
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
